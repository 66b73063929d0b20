"""Celery tasks: thin, id-taking, safe to run twice. The work lives in imports (the runner, the sync, bulk),
notifications and cycles; a task only loads what it is given and calls them.

acks_late + reject_on_worker_lost are on for every task (settings), so a task whose worker dies is run
again; each one is written so that a second run, even concurrent with the first, changes nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .cycles import analytics, suggestions
from .imports import bulk, runner, sync
from .models import ImportJob, ImportRecord, Incident, Involvement

# The outbox's tasks and queue_after_commit live in events.notifications.outbox (the import write path uses
# them, so it cannot import this module, which runs imports); they keep their events.tasks.* names and are
# imported here for everyone else.
from .notifications.outbox import PUBLISH_RETRY_POLICY, announce_surges, deliver, drain_outbox, queue_after_commit

__all__ = ["PUBLISH_RETRY_POLICY", "announce_surges", "deliver", "drain_outbox", "queue_after_commit"]

log = logging.getLogger(__name__)


@shared_task
def run_import(job_id: int) -> None:
    runner.run_import(job_id)
    queue_after_commit(refresh_suggestions_after_import, job_id)


@shared_task
def sync_acled() -> int | None:
    """Beat: pull new, updated and deleted events from the ACLED API. Returns the ImportJob id of the run."""
    return _sync("acled")


@shared_task
def sync_ucdp() -> int | None:
    """Beat: read a newer UCDP GED version from UCDP's API. Returns the ImportJob id of the run."""
    return _sync("ucdp")


def _sync(name: str) -> int | None:
    job = sync.run_sync(name)
    if job:  # its ImportRecords name the incidents it wrote and retracted
        queue_after_commit(refresh_suggestions_after_import, job.pk)
    return job.pk if job else None


@shared_task
def resume_stalled_imports() -> list[int]:
    """Beat: queue again the unfinished imports nobody works on (their queueing failed, or a worker died)."""
    stalled_since = timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALL_SECONDS)
    ids = list(
        ImportJob.objects.filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING])
        .exclude(format__in=[ImportJob.Format.ACLED_API, ImportJob.Format.UCDP_API])  # the syncs' runs
        .filter(Q(heartbeat_at__lt=stalled_since) | Q(heartbeat_at__isnull=True, created_at__lt=stalled_since))
        .values_list("id", flat=True)
    )
    for job_id in ids:
        run_import.delay(job_id)
    return ids


@shared_task
def refresh_nearest_bases() -> int:
    """Recompute every incident's nearest base, after a base was added, moved or removed."""
    changed = bulk.refresh_nearest_bases()
    queue_after_commit(warm_analytics)
    return changed


@shared_task
def refresh_suggestions(incident_ids: list[int] | None = None) -> None:
    """Recompute the suggested links of these incidents and of those they may answer or be answered by."""
    suggestions.refresh_suggestions(incident_ids)
    # Every editor's write of an incident ends here (events.actions.write_incident): the data are final.
    queue_after_commit(warm_analytics)


@shared_task
def refresh_suggestions_after_import(job_id: int) -> None:
    """After an import or sync: the suggestions of every incident the job wrote (all of them when it wrote
    more than a fifth of the incidents, which one pass over the table does faster)."""
    ids = list(ImportRecord.objects.filter(job_id=job_id).values_list("incident_id", flat=True))
    if ids:
        suggestions.refresh_suggestions(None if len(ids) * 5 > Incident.objects.count() else ids)
    queue_after_commit(warm_analytics)


@shared_task
def refresh_suggestions_of_actor(actor_id: int) -> None:
    """After an actor changed (its side, most often): the suggestions of the incidents it took part in."""
    ids = list(Involvement.objects.filter(actor_id=actor_id).values_list("incident_id", flat=True).distinct())
    if ids:
        suggestions.refresh_suggestions(ids)
    queue_after_commit(warm_analytics)


@shared_task
def warm_analytics() -> list[str]:
    """After the tasks above: the Analytics view's unfiltered figures computed for the new data, ahead of its
    first visitor. Answers already computed for these data are not computed again."""
    return analytics.warm_default_answers()
