"""Webhook notifications of newly published incidents and of the surges they make.

webhooks    the outbox rows a publication writes, the payloads, and sending one delivery, signed
outbox      what publishing sets off: the outbox rows queued once the transaction commits, and the
            deliver / drain_outbox tasks (registered as events.tasks.*), with queue_after_commit
admin       the admin of the subscriptions and of the deliveries (registered by events.admin)
"""
