"""An incident's sides and actor names (migration 0012's definition, unchanged) as one set-returning function,
events_incident_sides_of(ids), read both by the involvements' trigger (through events_incident_sides_refresh)
and by an import's INSERT of new incidents (events/bulk.py).

An import writes a new incident's involvements before the incident (their foreign key is checked at commit),
so the trigger finds no incident to rewrite, and the INSERT writes the five columns with the row: one write of
each new incident and its indexes instead of two. The rebuild is a refresh of every incident.
"""

from importlib import import_module

from django.db import migrations

# The statements are assembled from constants only.
# ruff: noqa: S608

sides_0012 = import_module("events.migrations.0012_incident_actor_names")

SIDES_OF = f"""
CREATE FUNCTION events_incident_sides_of(ids bigint[])
RETURNS TABLE (id bigint, attacking text[], targeted text[], attackers text[], targets text[], claimants text[])
LANGUAGE sql STABLE AS $$
    {sides_0012.DERIVED.format(ids="(SELECT DISTINCT unnest(ids) AS id)")}
$$
"""

FORWARD = [
    SIDES_OF,
    # 0012's UPDATE, reading the function (inlined by the planner: one plan, as before).
    f"""
CREATE OR REPLACE FUNCTION events_incident_sides_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    {sides_0012.UPDATE.format(derived="SELECT * FROM events_incident_sides_of(ids)")}
$$
""",
    """
CREATE OR REPLACE FUNCTION events_incident_sides_rebuild() RETURNS void LANGUAGE sql AS $$
    SELECT events_incident_sides_refresh(ARRAY(SELECT id FROM events_incident))
$$
""",
]

# Going back: 0012's own functions again, then the new one goes.
BACKWARD = [
    f"""
CREATE OR REPLACE FUNCTION events_incident_sides_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    {sides_0012.update("(SELECT DISTINCT unnest(ids) AS id)")}
$$
""",
    f"""
CREATE OR REPLACE FUNCTION events_incident_sides_rebuild() RETURNS void LANGUAGE sql AS $$
    {sides_0012.update("(SELECT id FROM events_incident)")}
$$
""",
    "DROP FUNCTION events_incident_sides_of(bigint[])",
]


class Migration(migrations.Migration):
    dependencies = [("events", "0015_surge_alerts")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
