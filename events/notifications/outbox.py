"""What publishing sets off: the webhook outbox rows, and their Celery tasks, queued once the transaction
commits; and the count of the surges the publication makes, a task of its own after the commit.

Apart from events.tasks because the import write path announces what it publishes while events.tasks runs
imports: with both in one module, tasks -> imports -> tasks would be a cycle. events.tasks re-exports
these, and the task names stay events.tasks.* (the beat schedule's rows and queued messages name them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from celery import shared_task
from django.db import transaction

from ..models import Delivery
from . import webhooks

log = logging.getLogger(__name__)

# Publishing must not wait long on a broker that is down: the outbox row is already committed, and beat
# sends it once the broker is back.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

# What the admin tells an editor when queue_after_commit reports the broker down.
QUEUE_DOWN = (
    "The job queue (Redis) is unreachable, so {what} could not be started now. Nothing is lost: "
    "it is saved and will run once the queue is back."
)


def queue_after_commit(task, *args, on_error: Callable[[Exception], None] | None = None) -> None:
    """Queue `task(*args)` once the current transaction commits (at once outside one), and once: the same
    task with the same arguments already waiting for this commit is not queued again (the seed saving twenty
    bases re-ranks the nearest bases once). A savepoint rolled back takes its waiting tasks along, as Django
    keeps them.

    A broker that is down is logged and reported to `on_error`, never raised: the rows the task would
    work on are committed, and a beat task picks them up later.
    """
    key = (task.name, args)
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(getattr(f, "queues", None) == key for _, f, _ in connection.run_on_commit):
        return

    def send() -> None:
        try:
            task.apply_async(args=args, retry_policy=PUBLISH_RETRY_POLICY)
        except Exception as exc:  # kombu/redis connection errors come in several types
            log.warning("Could not queue %s%r: %s", task.name, args, exc)
            if on_error is not None:
                on_error(exc)

    send.queues = key
    transaction.on_commit(send)


@shared_task(name="events.tasks.deliver")
def deliver(delivery_id: int) -> None:
    retry_in = webhooks.send_delivery(delivery_id)
    if retry_in is not None:
        # Best effort: if this message is lost, drain_outbox sends the delivery when it is due.
        try:
            deliver.apply_async((delivery_id,), countdown=retry_in, retry_policy=PUBLISH_RETRY_POLICY)
        except Exception as exc:
            log.warning("Could not schedule the retry of delivery %s: %s", delivery_id, exc)


@shared_task(name="events.tasks.drain_outbox")
def drain_outbox(limit: int = 1000) -> int:
    """Beat: queue the deliveries that are due (new ones whose queueing failed, and retries)."""
    due = list(Delivery.objects.due().order_by("next_attempt_at").values_list("id", flat=True)[:limit])
    for delivery_id in due:
        deliver.delay(delivery_id)
    return len(due)


def announce_publication(
    incident_ids: Sequence[int], *, on_queue_error: Callable[[Exception], None] | None = None
) -> list[int]:
    """Write the webhook outbox rows for newly published incidents; they are queued once the transaction
    commits, and so is announce_surges when a subscription asks for surges: no analytics query runs in the
    publishing transaction. If the broker is down the rows stay in the outbox for beat's drain_outbox, the
    surges are counted at once after the commit, and `on_queue_error` hears about it once (the admin tells
    the editor)."""
    delivery_ids = webhooks.create_deliveries(incident_ids)
    reported = []

    def report_once(exc: Exception) -> None:
        if on_queue_error is not None and not reported:
            reported.append(exc)
            on_queue_error(exc)

    _queue_deliveries(delivery_ids, on_error=report_once)
    if incident_ids and webhooks.surges_subscribed():
        ids = sorted(incident_ids)

        def count_surges_here(exc: Exception) -> None:
            report_once(exc)
            announce_surges(ids)  # after the commit all the same, in this process

        queue_after_commit(announce_surges, ids, on_error=count_surges_here)
    return delivery_ids


@shared_task(name="events.tasks.announce_surges")
def announce_surges(incident_ids: list[int]) -> list[int]:
    """After the publication of these incidents has committed: the surge weeks they make, each recorded once
    (SurgeAlert), and an outbox row for each subscription that asks for surges, queued as the incidents' are.
    Safe to run twice: a surge already recorded is not announced again."""
    with transaction.atomic():
        delivery_ids = webhooks.create_surge_deliveries(incident_ids)
        _queue_deliveries(delivery_ids)
    return delivery_ids


def _queue_deliveries(delivery_ids: Sequence[int], *, on_error: Callable[[Exception], None] | None = None) -> None:
    """Send these outbox rows once the transaction commits: one task each, or beat's drain for many."""
    if len(delivery_ids) > 20:
        queue_after_commit(drain_outbox, on_error=on_error)
        return
    for delivery_id in delivery_ids:
        queue_after_commit(deliver, delivery_id, on_error=on_error)
