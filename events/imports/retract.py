"""Retracting the incidents a source has withdrawn: ACLED's deleted events, the events a newer UCDP GED version
leaves out.

A retracted incident is not erased: its status becomes "retracted", with the reason and the time, so it leaves
every public list, count, map cell, export, timeline, suggestion and figure (they hold the published ones:
IncidentQuerySet.published / listed) while its history, its links and its row stay, and its own URL answers
410 Gone with the reason. The same source sending the row again restores it (events.imports.write).

Set-based, like the imports: one UPDATE for any number of incidents, one history row each ('~', with the
sync's reason), and the job recorded on their ImportRecord so that the refresh after the job
(events.tasks.refresh_suggestions_after_import) drops them from the suggestions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection, transaction

from .bulk import write_incident_history

# The incidents to retract, (id, reason) rows from a caller's query, are taken only if not retracted already.
RETRACT_SQL = """
WITH chosen AS MATERIALIZED ({chosen}),
retracted AS (
    UPDATE events_incident AS i
    SET status = 'retracted', retracted_reason = left(c.reason, 200), retracted_at = now(), updated_at = now()
    FROM chosen AS c
    WHERE i.id = c.id AND i.status <> 'retracted'
    RETURNING i.id
),
recorded AS (
    UPDATE events_importrecord AS r SET job_id = %(job_id)s FROM retracted AS t WHERE r.incident_id = t.id
)
SELECT id FROM retracted ORDER BY id
"""

# ACLED's deleted events of `dataset`, (event_id_cnty, deleted_timestamp) pairs: an event whose row we imported
# from a change made after its deletion has come back since, and stays.
DELETED_SQL = """
SELECT i.id, 'deleted by ACLED on ' || to_char(to_timestamp(d.deleted) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS reason
FROM unnest(%(external_ids)s::text[], %(deleted)s::bigint[]) AS d(external_id, deleted)
JOIN events_incident AS i ON i.dataset = %(dataset)s AND i.external_id = d.external_id
LEFT JOIN events_importrecord AS r ON r.incident_id = i.id
WHERE r.source_timestamp IS NULL OR r.source_timestamp <= d.deleted
"""

# The incidents of `dataset` inside a version's dates and countries that the version did not send.
MISSING_SQL = """
SELECT i.id, %(reason)s AS reason
FROM events_incident AS i
WHERE i.dataset = %(dataset)s AND i.external_id <> ''
  AND i.occurred_on BETWEEN %(start)s AND %(end)s AND i.country = ANY(%(countries)s)
  -- NOT IN a subquery is hashed once; = ANY(array) would compare each row with the whole array.
  AND i.external_id NOT IN (SELECT unnest(%(seen)s::text[]))
"""


def _retract(chosen: str, params: dict, *, job_id: int | None, history_reason: str, user_id: int | None) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(RETRACT_SQL.format(chosen=chosen), {**params, "job_id": job_id})
        ids = [row[0] for row in cursor.fetchall()]
        if ids:
            write_incident_history(
                cursor,
                "SELECT unnest(%(ids)s::bigint[]) AS id, '~' AS type",
                reason=history_reason,
                user_id=user_id,
                params={"ids": ids},
            )
    return ids


@transaction.atomic
def retract_deleted(
    dataset: str,
    deletions: Sequence[tuple[str, int]],
    *,
    job_id: int | None,
    history_reason: str,
    user_id: int | None = None,
) -> list[int]:
    """Retract the incidents of `dataset` whose external id ACLED lists as deleted, (event_id_cnty,
    deleted_timestamp) pairs, with the reason "deleted by ACLED on <date>"; the ids retracted now."""
    if not deletions:
        return []
    params = {
        "dataset": dataset,
        "external_ids": [external_id for external_id, _ in deletions],
        "deleted": [deleted for _, deleted in deletions],
    }
    return _retract(DELETED_SQL, params, job_id=job_id, history_reason=history_reason, user_id=user_id)


@transaction.atomic
def retract_missing(
    dataset: str,
    seen: Sequence[str],
    *,
    start: dt.date,
    end: dt.date,
    countries: Sequence[str],
    reason: str,
    job_id: int | None,
    history_reason: str,
    user_id: int | None = None,
) -> list[int]:
    """Retract the incidents of `dataset` dated from `start` to `end` in `countries` whose external id is not in
    `seen` (a newer version of the dataset left them out), with `reason`; the ids retracted now."""
    if not countries:
        return []
    params = {
        "dataset": dataset,
        "seen": list(seen),
        "start": start,
        "end": end,
        "countries": list(countries),
        "reason": reason,
    }
    return _retract(MISSING_SQL, params, job_id=job_id, history_reason=history_reason, user_id=user_id)
