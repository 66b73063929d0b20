from django.apps import AppConfig


class EventsConfig(AppConfig):
    """No signal handlers: what a write sets off elsewhere is queued by the write itself, in events.actions
    (an incident's, a base's, an actor's, a side's, an import job's delete), once, after it commits."""

    name = "events"
    verbose_name = "Incidents"
