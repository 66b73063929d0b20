"""How fresh each dataset is: its newest event, its last successful sync and import, and its version, for the
dashboard's line "ACLED: synced 2 h ago, events to 6 Dec 2026 · UCDP GED 26.0.7"."""

from __future__ import annotations

from django.db.models import Count, Max, Q
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from api import schema
from api.http import ApiView
from events.models import ImportJob, Incident, SyncState


def dataset_label(dataset: str) -> str:
    """'acled' -> 'ACLED', 'ucdp-ged' -> 'UCDP GED': the datasets are named by their acronyms."""
    return dataset.replace("-", " ").replace("_", " ").upper()


def dataset_status() -> list[dict]:
    """One entry per dataset that published incidents or has a sync, in the datasets' order."""
    events = {
        row["dataset"]: row
        for row in Incident.objects.published()
        .exclude(dataset="")
        .order_by()
        .values("dataset")
        .annotate(incidents=Count("pk"), events_to=Max("occurred_on"))
    }
    imported = dict(
        ImportJob.objects.filter(status=ImportJob.Status.DONE)
        .exclude(dataset="")
        .order_by()
        .values_list("dataset")
        .annotate(Max("finished_at"))
    )
    # A sync that has run, under the dataset its jobs write (UCDP's "ucdp" writes "ucdp-ged"), or else its name.
    ran = SyncState.objects.filter(Q(last_job__isnull=False) | Q(last_success_at__isnull=False))
    syncs = {
        (state.last_job.dataset if state.last_job and state.last_job.dataset else state.name): state
        for state in ran.select_related("last_job").order_by("name")
    }
    status = []
    for dataset in sorted(events.keys() | syncs.keys()):
        state = syncs.get(dataset)
        status.append(
            {
                "dataset": dataset,
                "label": dataset_label(dataset),
                "incidents": events[dataset]["incidents"] if dataset in events else 0,
                "events_to": events[dataset]["events_to"] if dataset in events else None,
                "synced_at": state.last_success_at if state else None,
                "sync_failing": bool(state and state.last_error),
                "imported_at": imported.get(dataset),
                "version": (state.version or None) if state else None,  # UCDP GED's "26.0.7"; ACLED has none
            }
        )
    return status


@schema.sources_status
class SourceStatusView(ApiView):
    """Each dataset's freshness, from the incidents and the syncs' own bookkeeping."""

    permission_classes = [AllowAny]
    query_parameters = set()
    versioned = True

    def get(self, request):
        self.reader(request).check()
        if early := self.not_modified(request):
            return early
        return Response({"datasets": dataset_status()})
