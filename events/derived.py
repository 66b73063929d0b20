"""The figures kept on each incident row, defined once in SQL: casualty totals (the best estimate, else the
low, else the high, summed over its casualty rows; killed alone as fatalities) and the nearest base with its
distance in km (by ST_DistanceSphere, ties to the lower base id); and the sides and actors' names, which
events_incident_sides_of() (events/sql/) derives from the involvements.

Each is computed in the statement that writes the row: an editor's save writes the row once, with all of them
(write_one(), events.actions.write_incident), imports their staged rows (events/imports/bulk.py);
refresh_nearest_bases() re-ranks every row's nearest base, and Incident.refresh_derived() recomputes one
row's figures. Each statement names its incident row `s`.
"""

# ruff: noqa: S608  (assembled from the constants below; values go in as parameters)

from __future__ import annotations

from collections.abc import Sequence


def casualty_totals(*, casualties: str, key: str, where: str = "") -> str:
    """A LEFT JOIN giving `c.all_best` and `c.killed_best` for incident `s` (joined on `s.<key>`) from the
    table `casualties` (events_casualty, or an import's staged copy); NULL when it has none."""
    return f"""
    LEFT JOIN (
        SELECT incident_id,
               sum(coalesce(best, low, high)) AS all_best,
               coalesce(sum(coalesce(best, low, high)) FILTER (WHERE kind = 'killed'), 0) AS killed_best
        FROM {casualties} {where} GROUP BY incident_id
    ) AS c ON c.incident_id = s.{key}
"""


# `nb.id` and `nb.km` for incident `s`, both NULL when it has no location.
NEAREST_BASE_JOIN = """
    LEFT JOIN LATERAL (
        SELECT b.id, round((ST_DistanceSphere(b.location, s.location) / 1000)::numeric, 3)::float8 AS km
        FROM posture_base AS b
        WHERE s.location IS NOT NULL
        ORDER BY ST_DistanceSphere(b.location, s.location), b.id
        LIMIT 1
    ) AS nb ON true
"""

# Each derived column and its value, from the two joins above: as a SET list, or as INSERT columns and SELECT
# expressions in the same order.
DERIVED = (
    ("casualties_best", "coalesce(c.all_best, 0)"),
    ("fatalities_best", "coalesce(c.killed_best, 0)"),
    ("nearest_base_id", "nb.id"),
    ("nearest_base_km", "nb.km"),
)
DERIVED_VALUES = ", ".join(f"{column} = {value}" for column, value in DERIVED)
DERIVED_COLUMNS = ", ".join(column for column, _ in DERIVED)
DERIVED_SELECT = ", ".join(value for _, value in DERIVED)

# An incident's sides and actors' names, from its involvements as they are in the table: the columns the
# involvements' trigger keeps (events/sql/events_involvement_sides_track.sql), read from events_incident_sides_of()
# joined as `d`. A row written after its involvements takes them from here, and the trigger finds nothing to
# rewrite.
SIDES = (
    ("attacking_sides", "d.attacking"),
    ("targeted_sides", "d.targeted"),
    ("attacker_names", "d.attackers"),
    ("target_names", "d.targets"),
    ("claimant_names", "d.claimants"),
)


# Names the incidents whose rows the transaction writes next, sides included (`ids`: an SQL expression of their
# ids as an array literal, '' for none): the involvements' trigger leaves them to that write
# (events/sql/events_involvement_sides_track.sql). An editor's save names one, an import the rows it changes.
WRITTEN_NEXT = "SELECT set_config('events.incidents_written_next', {ids}, true)"


def write_one(columns: Sequence[str], values: Sequence[str], *, location: str, insert: bool) -> str:
    """One incident's row written in one statement, INSERT or UPDATE, with `columns` set to `values` (their
    placeholders) and every column of DERIVED and SIDES computed from its casualties and involvements, written
    before it; returns those, in that order. Parameters: the values', then the row's id and its new location
    (`location` is that value's placeholder), then the id again."""
    derived = (*DERIVED, *SIDES)
    joins = f"""
    FROM (SELECT %s::bigint AS id, CAST({location} AS geometry) AS location) AS s
    {casualty_totals(casualties="events_casualty", key="id", where="WHERE incident_id = %s")}
    {NEAREST_BASE_JOIN}
    JOIN events_incident_sides_of(ARRAY[s.id]) AS d ON d.id = s.id
    """
    returning = "RETURNING " + ", ".join(f"i.{column}" for column, _ in derived)
    if insert:
        return f"""
    INSERT INTO events_incident AS i ({", ".join([*columns, *(column for column, _ in derived)])})
    SELECT {", ".join([*values, *(value for _, value in derived)])}
    {joins}
    {returning}
"""
    assignments = [f"{column} = {value}" for column, value in zip(columns, values, strict=True)]
    return f"""
    UPDATE events_incident AS i SET {", ".join([*assignments, *(f"{column} = {value}" for column, value in derived)])}
    {joins}
    WHERE i.id = s.id
    {returning}
"""


# One incident's derived columns recomputed in one statement, returning what it wrote.
REFRESH_ONE = f"""
    UPDATE events_incident AS i SET {DERIVED_VALUES}
    FROM events_incident AS s
    {casualty_totals(casualties="events_casualty", key="id", where="WHERE incident_id = %(id)s")}
    {NEAREST_BASE_JOIN}
    WHERE i.id = s.id AND s.id = %(id)s
    RETURNING i.casualties_best, i.fatalities_best, i.nearest_base_id, i.nearest_base_km
"""
