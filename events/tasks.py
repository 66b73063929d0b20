"""Celery tasks: thin, id-taking, safe to run twice. The work lives in importing, sync, notifications
and actions; a task only loads what it is given and calls them.

acks_late + reject_on_worker_lost are on for every task (settings), so a task whose worker dies is run
again; each one is written so that a second run, even concurrent with the first, changes nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import cycles, importing, notifications, sync
from .models import Delivery, ImportJob, ImportRecord, Incident, Involvement

log = logging.getLogger(__name__)

# Publishing must not wait long on a broker that is down: the outbox row is already committed, and beat
# sends it once the broker is back.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def queue_after_commit(task, *args, on_error: Callable[[Exception], None] | None = None) -> None:
    """Queue `task(*args)` once the current transaction commits (at once outside one).

    A broker that is down is logged and reported to `on_error`, never raised: the rows the task would
    work on are committed, and a beat task picks them up later.
    """

    def send() -> None:
        try:
            task.apply_async(args=args, retry_policy=PUBLISH_RETRY_POLICY)
        except Exception as exc:  # kombu/redis connection errors come in several types
            log.warning("Could not queue %s%r: %s", task.name, args, exc)
            if on_error is not None:
                on_error(exc)

    transaction.on_commit(send)


@shared_task
def run_import(job_id: int) -> None:
    importing.run_import(job_id)
    queue_after_commit(refresh_suggestions_after_import, job_id)


@shared_task
def deliver(delivery_id: int) -> None:
    retry_in = notifications.send_delivery(delivery_id)
    if retry_in is not None:
        # Best effort: if this message is lost, drain_outbox sends the delivery when it is due.
        try:
            deliver.apply_async((delivery_id,), countdown=retry_in, retry_policy=PUBLISH_RETRY_POLICY)
        except Exception as exc:
            log.warning("Could not schedule the retry of delivery %s: %s", delivery_id, exc)


@shared_task
def drain_outbox(limit: int = 1000) -> int:
    """Beat: queue the deliveries that are due (new ones whose queueing failed, and retries)."""
    due = list(Delivery.objects.due().order_by("next_attempt_at").values_list("id", flat=True)[:limit])
    for delivery_id in due:
        deliver.delay(delivery_id)
    return len(due)


@shared_task
def sync_acled() -> int | None:
    """Beat: pull new and updated events from the ACLED API. Returns the ImportJob id of the run."""
    job = sync.run_sync()
    if job:
        queue_after_commit(refresh_suggestions_after_import, job.pk)
    return job.pk if job else None


@shared_task
def resume_stalled_imports() -> list[int]:
    """Beat: queue again the unfinished imports nobody works on (their queueing failed, or a worker died)."""
    stalled_since = timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALL_SECONDS)
    ids = list(
        ImportJob.objects.filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING])
        .exclude(format=ImportJob.Format.ACLED_API)
        .filter(Q(heartbeat_at__lt=stalled_since) | Q(heartbeat_at__isnull=True, created_at__lt=stalled_since))
        .values_list("id", flat=True)
    )
    for job_id in ids:
        run_import.delay(job_id)
    return ids


@shared_task
def refresh_nearest_bases() -> int:
    """Recompute every incident's nearest base, after a base was added, moved or removed."""
    from .actions import refresh_nearest_bases as refresh

    return refresh()


@shared_task
def refresh_suggestions(incident_ids: list[int] | None = None) -> None:
    """Recompute the suggested links of these incidents and of those they may answer or be answered by."""
    cycles.refresh_suggestions(incident_ids)


@shared_task
def refresh_suggestions_after_import(job_id: int) -> None:
    """After an import or sync: the suggestions of every incident the job wrote (all of them when it wrote
    more than a fifth of the incidents, which one pass over the table does faster)."""
    ids = list(ImportRecord.objects.filter(job_id=job_id).values_list("incident_id", flat=True))
    if ids:
        cycles.refresh_suggestions(None if len(ids) * 5 > Incident.objects.count() else ids)


@shared_task
def refresh_suggestions_of_actor(actor_id: int) -> None:
    """After an actor changed (its side, most often): the suggestions of the incidents it took part in."""
    ids = list(Involvement.objects.filter(actor_id=actor_id).values_list("incident_id", flat=True).distinct())
    if ids:
        cycles.refresh_suggestions(ids)
