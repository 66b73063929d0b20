"""Incidents' attackers, targets and claimants by name, derived like their sides (migration 0010) and in the
same UPDATE, so that a list page, the CSV export and the webhook payload read three columns of the row
instead of joining every incident's involvements (about 60 ms of a page of 10,000).

The refresh function of 0010 is replaced by one that writes the sides and the names together, and the actor
trigger also fires when an actor is renamed.
"""

from importlib import import_module

from django.contrib.postgres.fields import ArrayField
from django.db import migrations, models

# The statements are assembled from constants only.
# ruff: noqa: S608

DERIVED = """
SELECT t.id,
       coalesce(array_agg(DISTINCT k.key ORDER BY k.key) FILTER (WHERE v.role IN ('attacker', 'claimed_by')),
                '{{}}') AS attacking,
       coalesce(array_agg(DISTINCT k.key ORDER BY k.key) FILTER (WHERE v.role = 'target'), '{{}}') AS targeted,
       coalesce(array_agg(a.name::text ORDER BY a.name) FILTER (WHERE v.role = 'attacker'), '{{}}') AS attackers,
       coalesce(array_agg(a.name::text ORDER BY a.name) FILTER (WHERE v.role = 'target'), '{{}}') AS targets,
       coalesce(array_agg(a.name::text ORDER BY a.name) FILTER (WHERE v.role = 'claimed_by'), '{{}}') AS claimants
FROM {ids} AS t
LEFT JOIN events_involvement AS v ON v.incident_id = t.id
LEFT JOIN posture_actor AS a ON a.id = v.actor_id
LEFT JOIN posture_side AS s ON s.id = a.side_id
CROSS JOIN LATERAL (SELECT coalesce(s.slug::text, 'actor:' || a.slug) AS key) AS k
GROUP BY t.id
"""

UPDATE = """
UPDATE events_incident AS i SET attacking_sides = c.attacking, targeted_sides = c.targeted,
       attacker_names = c.attackers, target_names = c.targets, claimant_names = c.claimants
FROM ({derived}) AS c
WHERE i.id = c.id
  AND (i.attacking_sides, i.targeted_sides, i.attacker_names, i.target_names, i.claimant_names)
      IS DISTINCT FROM (c.attacking, c.targeted, c.attackers, c.targets, c.claimants)
"""


def update(ids: str) -> str:
    return UPDATE.format(derived=DERIVED.format(ids=ids))


def functions(actor_change: str) -> list[str]:
    return [
        f"""
CREATE OR REPLACE FUNCTION events_incident_sides_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    {update("(SELECT DISTINCT unnest(ids) AS id)")}
$$
""",
        f"""
CREATE OR REPLACE FUNCTION events_incident_sides_rebuild() RETURNS void LANGUAGE sql AS $$
    {update("(SELECT id FROM events_incident)")}
$$
""",
        f"""
CREATE OR REPLACE FUNCTION events_actor_sides_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM events_incident_sides_refresh(ARRAY(
        SELECT v.incident_id FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
        JOIN events_involvement AS v ON v.actor_id = n.id
        WHERE {actor_change}));
    RETURN NULL;
END
$$
""",
    ]


FORWARD = [
    *functions("(o.side_id, o.slug, o.name) IS DISTINCT FROM (n.side_id, n.slug, n.name)"),
    # TRUNCATE of involvements empties the names too.
    """
CREATE OR REPLACE FUNCTION events_involvement_sides_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM events_incident_sides_refresh(ARRAY(SELECT incident_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM events_incident_sides_refresh(
            ARRAY(SELECT incident_id FROM new_rows UNION SELECT incident_id FROM old_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM events_incident_sides_refresh(ARRAY(SELECT incident_id FROM old_rows));
    ELSE
        UPDATE events_incident SET attacking_sides = '{}', targeted_sides = '{}',
               attacker_names = '{}', target_names = '{}', claimant_names = '{}'
        WHERE attacking_sides <> '{}' OR targeted_sides <> '{}' OR attacker_names <> '{}'
           OR target_names <> '{}' OR claimant_names <> '{}';
    END IF;
    RETURN NULL;
END
$$
""",
    "SELECT events_incident_sides_rebuild()",
]


# Going back: 0010's own functions again, before the columns they do not know go.
BACKWARD = [
    statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    for statement in import_module("events.migrations.0010_incident_sides").FORWARD
    if statement.lstrip().startswith("CREATE FUNCTION")
    and ("sides_refresh" in statement or "sides_rebuild" in statement or "sides_track" in statement)
]


def _names_field():
    return ArrayField(models.TextField(), blank=True, db_default=[], default=list, editable=False)


class Migration(migrations.Migration):
    dependencies = [("events", "0011_link_suggestions")]

    operations = [
        migrations.AddField("incident", "attacker_names", _names_field()),
        migrations.AddField("incident", "target_names", _names_field()),
        migrations.AddField("incident", "claimant_names", _names_field()),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
