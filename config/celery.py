import logging
import os

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("posture")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

log = logging.getLogger("posture.start_up")


@worker_init.connect
@beat_init.connect
def warn_at_start_up(**kwargs) -> None:
    """Say, once at start-up, what the settings ask for that starts nothing (ACLED_API_KEY without an ACLED
    account): Django's system checks, which Celery runs, print nothing in a worker or in beat (events.checks).
    Once per process: a worker started with -B sends beat_init too, from a process forked after this one."""
    from events.checks import warn_at_start_up

    warn_at_start_up(log)
