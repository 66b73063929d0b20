"""Set-based writes for imports: thousands of incidents with their actors, casualties, sources, derived
figures and history rows in a dozen statements, whatever the number of rows.

The rows to write are COPYed into temporary tables first; everything after that is INSERT/UPDATE ... SELECT
from them. Actors, casualties and sources are written before the incidents they belong to (the foreign keys
are checked at commit), so that an incident's sides and actor names are read from its involvements by its
INSERT or UPDATE itself, with the function the involvements' trigger uses (events/sql/events_incident_sides_of.sql),
and each row is written once: a new row has none for the trigger to rewrite, and the trigger is told to leave the
changed ones to their UPDATE.
The history rows are the ones django-simple-history would have written row by row ('+' for a created row,
'~' for a changed one, '-' for a replaced actor or casualty), with the job's user and reason. Called by
events.imports.write.import_incidents inside its transaction. refresh_nearest_bases() re-ranks every
incident's nearest base with the same lookup.
"""

# The statements are assembled from constants and from column names read off the models; every value
# goes in as a parameter or through COPY.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.apps import apps
from django.db import connection

from ..derived import (
    DERIVED_COLUMNS,
    DERIVED_SELECT,
    DERIVED_VALUES,
    NEAREST_BASE_JOIN,
    SIDES,
    WRITTEN_NEXT,
    casualty_totals,
)

if TYPE_CHECKING:
    from .records import ParsedIncident

STAGE_SQL = """
DROP TABLE IF EXISTS import_stage, import_stage_actor, import_stage_source, import_stage_casualty;
CREATE TEMP TABLE import_stage (
    row_no integer NOT NULL,
    incident_id bigint NOT NULL,
    is_update boolean NOT NULL,
    dataset text NOT NULL,
    external_id text NOT NULL,
    digest text NOT NULL,
    source_timestamp bigint,
    occurred_on date NOT NULL,
    date_precision smallint NOT NULL,
    kind text NOT NULL,
    title text NOT NULL,
    summary text NOT NULL,
    attribution text NOT NULL,
    lon double precision,
    lat double precision,
    geo_precision smallint NOT NULL,
    place_name text NOT NULL,
    country text NOT NULL,
    admin1 text NOT NULL,
    base_id bigint,
    weapon text NOT NULL,
    munitions integer,
    status text NOT NULL,
    restored boolean NOT NULL,
    location geometry(Point, 4326) GENERATED ALWAYS AS (
        CASE WHEN lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END
    ) STORED
) ON COMMIT DROP;
CREATE TEMP TABLE import_stage_actor (incident_id bigint, actor_id bigint, role text) ON COMMIT DROP;
CREATE TEMP TABLE import_stage_source (incident_id bigint, source_id bigint) ON COMMIT DROP;
CREATE TEMP TABLE import_stage_casualty (
    incident_id bigint, "group" text, kind text, low integer, best integer, high integer, note text
) ON COMMIT DROP;
"""

STAGE_COLUMNS = (
    "row_no, incident_id, is_update, dataset, external_id, digest, source_timestamp, occurred_on, date_precision,"
    " kind, title, summary, attribution, lon, lat, geo_precision, place_name, country, admin1, base_id, weapon,"
    " munitions, status, restored"
)

# The derived figures of a staged row, as Incident.refresh_derived() computes them (events/derived.py).
DERIVED_JOINS = casualty_totals(casualties="import_stage_casualty", key="incident_id") + NEAREST_BASE_JOIN

INCIDENT_VALUES = (
    """
    occurred_on = s.occurred_on, date_precision = s.date_precision, kind = s.kind, title = s.title,
    summary = s.summary, attribution = s.attribution, location = s.location, geo_precision = s.geo_precision,
    place_name = s.place_name, country = s.country, admin1 = s.admin1, base_id = s.base_id, weapon = s.weapon,
    munitions = s.munitions, updated_at = now(),
"""
    + DERIVED_VALUES
)


def sides_join(staged: str) -> str:
    """The sides and actor names (derived.SIDES) of the staged incidents that match `staged` (a condition on
    import_stage), from their involvements (already written), as the involvements' trigger derives them:
    events/sql/events_incident_sides_of.sql."""
    return f"""
    JOIN events_incident_sides_of(ARRAY(SELECT incident_id FROM import_stage WHERE {staged})) AS d
      ON d.id = s.incident_id
"""


@dataclass
class Staged:
    """A row to write: new (incident_id freshly allocated) or changed (the existing incident's id)."""

    record: ParsedIncident
    incident_id: int
    is_update: bool
    status: str
    base_id: int | None
    actor_ids: list[tuple[int, str]]  # (actor id, role)
    source_ids: list[int]
    # A retracted incident its source has sent again: it takes `status` and loses its retraction.
    restored: bool = False


def _mirrored(model_label: str) -> list[str]:
    """Columns the history table copies from the model (all but the history_* bookkeeping)."""
    history = apps.get_model("events", f"Historical{model_label}")
    return [f.column for f in history._meta.concrete_fields if not f.name.startswith("history_")]


def _quoted(columns: Iterable[str]) -> str:
    return ", ".join(connection.ops.quote_name(c) for c in columns)


def allocate_incident_ids(count: int) -> list[int]:
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('events_incident', 'id')) FROM generate_series(1, %s)", [count]
        )
        return [row[0] for row in cursor.fetchall()]


def find_existing(keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str | None, bool]]:
    """(dataset, external id) -> (incident id, digest of its last import or None, whether it is retracted) for the
    keys that exist."""
    if not keys:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.dataset, i.external_id, i.id, r.digest, i.status = 'retracted'
            FROM events_incident AS i
            LEFT JOIN events_importrecord AS r ON r.incident_id = i.id
            WHERE (i.dataset, i.external_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
              AND i.external_id <> ''
            """,
            [[k[0] for k in keys], [k[1] for k in keys]],
        )
        return {
            (dataset, external_id): (pk, digest, retracted) for dataset, external_id, pk, digest, retracted in cursor
        }


def write(staged: Sequence[Staged], *, user_id: int | None, reason: str, job_id: int | None) -> list[int]:
    """Write the staged rows; return the ids of the incidents created (or restored) as published."""
    if not staged:
        return []
    with connection.wrap_database_errors, connection.cursor() as cursor:
        # The nearest-base lookup looks costly to the planner, which then spends longer JIT-compiling each
        # statement than running it.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(STAGE_SQL)
        _copy_stage(cursor, staged)
        history = (reason[:100], user_id)
        # Relations first: the incidents' sides are then read by their INSERT or UPDATE. The involvements'
        # trigger finds no row yet for a new incident and leaves the changed ones alone until their UPDATE, so
        # that no row is written twice. A failure rolls the setting back with the rest.
        cursor.execute(WRITTEN_NEXT.format(ids="ARRAY(SELECT incident_id FROM import_stage WHERE is_update)::text"))
        _replace_relations(cursor, history)
        _insert_new(cursor, user_id)
        _update_changed(cursor)
        cursor.execute(WRITTEN_NEXT.format(ids="''"))
        write_incident_history(cursor, STAGED_HISTORY, reason=reason, user_id=user_id)
        cursor.execute(
            """
            INSERT INTO events_importrecord (incident_id, digest, source_timestamp, job_id, imported_at)
            SELECT incident_id, digest, source_timestamp, %s, now() FROM import_stage
            ON CONFLICT (incident_id) DO UPDATE SET digest = EXCLUDED.digest,
                source_timestamp = EXCLUDED.source_timestamp, job_id = EXCLUDED.job_id, imported_at = now()
            """,
            [job_id],
        )
        cursor.execute(
            "SELECT incident_id FROM import_stage WHERE (NOT is_update OR restored) AND status = 'published'"
        )
        return [row[0] for row in cursor.fetchall()]


def _copy_stage(cursor, staged: Sequence[Staged]) -> None:
    with cursor.copy(f"COPY import_stage ({STAGE_COLUMNS}) FROM STDIN") as copy:
        for s in staged:
            r = s.record
            copy.write_row(
                (
                    r.row,
                    s.incident_id,
                    s.is_update,
                    r.dataset,
                    r.external_id,
                    r.digest,
                    r.source_timestamp,
                    r.occurred_on,
                    r.date_precision,
                    r.kind,
                    r.title,
                    r.summary,
                    r.attribution,
                    r.lon,
                    r.lat,
                    r.geo_precision,
                    r.place_name,
                    r.country,
                    r.admin1,
                    s.base_id,
                    r.weapon,
                    r.munitions,
                    s.status,
                    s.restored,
                )
            )
    with cursor.copy("COPY import_stage_actor (incident_id, actor_id, role) FROM STDIN") as copy:
        for s in staged:
            for actor_id, role in s.actor_ids:
                copy.write_row((s.incident_id, actor_id, role))
    with cursor.copy("COPY import_stage_source (incident_id, source_id) FROM STDIN") as copy:
        for s in staged:
            for source_id in s.source_ids:
                copy.write_row((s.incident_id, source_id))
    with cursor.copy(
        'COPY import_stage_casualty (incident_id, "group", kind, low, best, high, note) FROM STDIN'
    ) as copy:
        for s in staged:
            for casualty in s.record.casualties:
                copy.write_row((s.incident_id, *casualty))


def _insert_new(cursor, user_id: int | None) -> None:
    cursor.execute(
        f"""
        INSERT INTO events_incident (
            id, occurred_on, date_precision, kind, title, summary, attribution, location, geo_precision,
            place_name, country, admin1, base_id, weapon, munitions, status, dataset, external_id,
            {DERIVED_COLUMNS}, {", ".join(column for column, _ in SIDES)}, created_by_id, created_at, updated_at
        )
        SELECT s.incident_id, s.occurred_on, s.date_precision, s.kind, s.title, s.summary, s.attribution,
               s.location, s.geo_precision, s.place_name, s.country, s.admin1, s.base_id, s.weapon, s.munitions,
               s.status, s.dataset, s.external_id, {DERIVED_SELECT}, {", ".join(value for _, value in SIDES)},
               %s, now(), now()
        FROM import_stage AS s {DERIVED_JOINS} {sides_join("NOT is_update")}
        WHERE NOT s.is_update
        ORDER BY s.row_no
        """,
        [user_id],
    )


def _update_changed(cursor) -> None:
    # An update keeps the incident's status: an editor's decision to unpublish is not undone by a re-import. A
    # retracted incident its source sends again is restored (events.imports.retract). Its sides come from the
    # involvements _replace_relations just wrote (every changed row's, restored or not, its actors changed or not).
    cursor.execute(
        f"""
        UPDATE events_incident AS i SET {INCIDENT_VALUES},
            {", ".join(f"{column} = {value}" for column, value in SIDES)},
            status = CASE WHEN s.restored THEN s.status ELSE i.status END,
            retracted_reason = CASE WHEN s.restored THEN '' ELSE i.retracted_reason END,
            retracted_at = CASE WHEN s.restored THEN NULL ELSE i.retracted_at END
        FROM import_stage AS s {DERIVED_JOINS} {sides_join("is_update")}
        WHERE s.is_update AND i.id = s.incident_id
        """
    )


def _replace_relations(cursor, history: tuple[str, int | None]) -> None:
    involvement = _mirrored("Involvement")
    casualty = _mirrored("Casualty")
    stamp = "now(), %s, {type}, %s"
    # Changed rows lose their old actors and casualties (recorded as '-' in history) ...
    for table, columns in (("events_involvement", involvement), ("events_casualty", casualty)):
        cols = _quoted(columns)
        cursor.execute(
            f"""
            WITH gone AS (
                DELETE FROM {table} AS t USING import_stage AS s
                WHERE s.is_update AND t.incident_id = s.incident_id RETURNING t.*
            )
            INSERT INTO events_historical{table.removeprefix("events_")} ({cols}, history_date,
                history_change_reason, history_type, history_user_id)
            SELECT {cols}, {stamp.format(type="'-'")} FROM gone
            """,
            history,
        )
    cursor.execute(
        "DELETE FROM events_incident_sources AS t USING import_stage AS s"
        " WHERE s.is_update AND t.incident_id = s.incident_id"
    )
    # ... and every staged row gets the ones it came with ('+').
    cols = _quoted(involvement)
    cursor.execute(
        f"""
        WITH added AS (
            INSERT INTO events_involvement (incident_id, actor_id, role)
            SELECT DISTINCT incident_id, actor_id, role FROM import_stage_actor
            RETURNING *
        )
        INSERT INTO events_historicalinvolvement ({cols}, history_date, history_change_reason, history_type,
            history_user_id)
        SELECT {cols}, {stamp.format(type="'+'")} FROM added
        """,
        history,
    )
    cols = _quoted(casualty)
    cursor.execute(
        f"""
        WITH added AS (
            INSERT INTO events_casualty (incident_id, "group", kind, low, best, high, note)
            SELECT incident_id, "group", kind, low, best, high, note FROM import_stage_casualty
            RETURNING *
        )
        INSERT INTO events_historicalcasualty ({cols}, history_date, history_change_reason, history_type,
            history_user_id)
        SELECT {cols}, {stamp.format(type="'+'")} FROM added
        """,
        history,
    )
    cursor.execute(
        "INSERT INTO events_incident_sources (incident_id, source_id)"
        " SELECT DISTINCT incident_id, source_id FROM import_stage_source"
    )


# The staged incidents, as write_incident_history() takes them: '+' for a created row, '~' for a changed one.
STAGED_HISTORY = "SELECT incident_id AS id, CASE WHEN is_update THEN '~' ELSE '+' END AS type FROM import_stage"


def write_incident_history(
    cursor, written: str, *, reason: str, user_id: int | None, params: dict | None = None
) -> None:
    """One history row per incident of `written` (a query of id and history type, with `params`), with the
    sources it cites (simple-history's m2m snapshot), as the incident is now."""
    cols = _quoted(_mirrored("Incident"))
    prefixed = ", ".join(f"i.{c}" for c in cols.split(", "))
    cursor.execute(
        f"""
        WITH written AS (
            INSERT INTO events_historicalincident ({cols}, history_date, history_change_reason, history_type,
                history_user_id)
            SELECT {prefixed}, now(), %(reason)s, w.type, %(user_id)s
            FROM ({written}) AS w JOIN events_incident AS i ON i.id = w.id
            RETURNING history_id, id
        )
        INSERT INTO events_historicalincident_sources (id, history_id, incident_id, source_id)
        SELECT t.id, w.history_id, t.incident_id, t.source_id
        FROM written AS w JOIN events_incident_sources AS t ON t.incident_id = w.id
        """,
        {**(params or {}), "reason": reason[:100], "user_id": user_id},
    )


def refresh_nearest_bases() -> int:
    """Recompute every incident's nearest base and distance (after a base moved, appeared or went away);
    returns how many incidents changed. One statement; rows whose answer is unchanged are not written."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE events_incident AS i SET nearest_base_id = nb.id, nearest_base_km = nb.km
            FROM events_incident AS s {NEAREST_BASE_JOIN}
            WHERE i.id = s.id
              AND (i.nearest_base_id IS DISTINCT FROM nb.id OR i.nearest_base_km IS DISTINCT FROM nb.km)
            """
        )
        return cursor.rowcount
