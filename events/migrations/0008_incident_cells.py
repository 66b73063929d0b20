"""Map cells counted per zoom, kind and status (IncidentCell), kept current by triggers on events_incident.

Statement-level triggers see every row a statement wrote (its transition tables), so a bulk import adds
its hundred thousand rows in one aggregate per statement, and a single admin save costs one small upsert.
An UPDATE only counts the rows whose location, kind, status or casualty total changed: re-ranking every
incident's nearest base leaves the cells alone. Triggers are skipped under session_replication_role =
replica (bench/synthetic.py's bulk load), which calls events_incidentcell_rebuild() afterwards.

The cell width is IncidentCell.degrees(zoom), written here as the same float8 constants, so a cell here is
exactly the cell api.clusters computes from the rows.
"""

from django.db import migrations, models

# The statements are assembled from constants only.
# ruff: noqa: S608

MAX_ZOOM = 8  # IncidentCell.MAX_ZOOM when this was written
ZOOMS = ", ".join(f"({zoom}, {360 / 2**zoom * 60 / 256!r}::float8)" for zoom in range(MAX_ZOOM + 1))

# What the rows of a statement (`rows`: id, location, kind, status, casualties_best and sign, +1 for a row
# that is there now, -1 for one that was) add to each cell. A cell that goes back to zero is kept at zero,
# with its sums reset, rather than deleted: in one statement a row cannot be both updated and deleted.
ADD = """
INSERT INTO events_incidentcell AS t (zoom, x, y, kind, status, count, sum_lon, sum_lat, sum_id, casualties)
SELECT z.zoom, floor(c.lon / z.cell)::integer, floor(c.lat / z.cell)::integer, c.kind, c.status,
       sum(c.sign), sum(c.sign * c.lon), sum(c.sign * c.lat), sum(c.sign * c.id), sum(c.sign * c.casualties_best)
FROM (
    SELECT r.id, ST_X(r.location) AS lon, ST_Y(r.location) AS lat, r.kind, r.status, r.casualties_best, r.sign
    FROM ({rows}) AS r WHERE r.location IS NOT NULL
    OFFSET 0  -- a fence: each row's coordinates are read once, not once per zoom level
) AS c CROSS JOIN (VALUES {zooms}) AS z (zoom, cell)
GROUP BY 1, 2, 3, 4, 5
HAVING sum(c.sign) <> 0 OR sum(c.sign * c.id) <> 0 OR sum(c.sign * c.casualties_best) <> 0
    OR sum(c.sign * c.lon) <> 0 OR sum(c.sign * c.lat) <> 0
-- The same order in every statement, so that two writers lock shared cells in the same order.
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (zoom, x, y, kind, status) DO UPDATE SET
    count = t.count + EXCLUDED.count,
    sum_lon = CASE WHEN t.count + EXCLUDED.count = 0 THEN 0 ELSE t.sum_lon + EXCLUDED.sum_lon END,
    sum_lat = CASE WHEN t.count + EXCLUDED.count = 0 THEN 0 ELSE t.sum_lat + EXCLUDED.sum_lat END,
    sum_id = t.sum_id + EXCLUDED.sum_id,
    casualties = t.casualties + EXCLUDED.casualties
"""

COLUMNS = "{t}.id, {t}.location, {t}.kind, {t}.status, {t}.casualties_best"
CHANGED = (
    "(o.kind, o.status, o.casualties_best) IS DISTINCT FROM (n.kind, n.status, n.casualties_best)"
    " OR o.location IS DISTINCT FROM n.location"
)
INSERTED = f"SELECT {COLUMNS.format(t='n')}, 1 AS sign FROM new_rows AS n"
DELETED = f"SELECT {COLUMNS.format(t='o')}, -1 AS sign FROM old_rows AS o"
UPDATED = (
    f"SELECT {COLUMNS.format(t='o')}, -1 AS sign FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id"
    f" WHERE {CHANGED} UNION ALL "
    f"SELECT {COLUMNS.format(t='n')}, 1 AS sign FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id"
    f" WHERE {CHANGED}"
)
EVERY = f"SELECT {COLUMNS.format(t='i')}, 1 AS sign FROM events_incident AS i"


def add(rows: str) -> str:
    return ADD.format(rows=rows, zooms=ZOOMS)


FORWARD = [
    f"""
CREATE FUNCTION events_incidentcell_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {add(INSERTED)};
    ELSIF TG_OP = 'UPDATE' THEN
        {add(UPDATED)};
    ELSIF TG_OP = 'DELETE' THEN
        {add(DELETED)};
    ELSE
        -- Not TRUNCATE: a TRUNCATE that names both tables (as Django's flush does) is still using this one.
        DELETE FROM events_incidentcell;
    END IF;
    RETURN NULL;
END
$$
""",
    f"""
CREATE FUNCTION events_incidentcell_rebuild() RETURNS void LANGUAGE sql AS $$
    TRUNCATE events_incidentcell;
    {add(EVERY)};
$$
""",
    "CREATE TRIGGER events_incidentcell_insert AFTER INSERT ON events_incident REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION events_incidentcell_track()",
    "CREATE TRIGGER events_incidentcell_update AFTER UPDATE ON events_incident"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION events_incidentcell_track()",
    "CREATE TRIGGER events_incidentcell_delete AFTER DELETE ON events_incident REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION events_incidentcell_track()",
    "CREATE TRIGGER events_incidentcell_truncate AFTER TRUNCATE ON events_incident"
    " FOR EACH STATEMENT EXECUTE FUNCTION events_incidentcell_track()",
    "SELECT events_incidentcell_rebuild()",
]
BACKWARD = [
    "DROP TRIGGER events_incidentcell_insert ON events_incident",
    "DROP TRIGGER events_incidentcell_update ON events_incident",
    "DROP TRIGGER events_incidentcell_delete ON events_incident",
    "DROP TRIGGER events_incidentcell_truncate ON events_incident",
    "DROP FUNCTION events_incidentcell_track()",
    "DROP FUNCTION events_incidentcell_rebuild()",
]


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0007_cluster_cell_statistics"),
    ]

    operations = [
        migrations.CreateModel(
            name="IncidentCell",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("zoom", models.PositiveSmallIntegerField()),
                ("x", models.IntegerField()),
                ("y", models.IntegerField()),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("rocket_attack", "Rocket attack"),
                            ("ballistic_missile_strike", "Ballistic missile strike"),
                            ("drone_attack", "One-way drone attack"),
                            ("drone_strike", "Drone strike"),
                            ("air_strike", "Air strike"),
                            ("ied", "IED / roadside bomb"),
                            ("armed_clash", "Armed clash"),
                            ("show_of_force", "Show of force / bomber overflight"),
                            ("posture_announcement", "Posture announcement"),
                            ("diplomatic_move", "Diplomatic move"),
                            ("statement", "Official statement / warning"),
                            ("context", "Political context"),
                        ],
                        max_length=30,
                    ),
                ),
                ("status", models.CharField(choices=[("draft", "Draft"), ("published", "Published")], max_length=10)),
                ("count", models.IntegerField()),
                ("sum_lon", models.FloatField()),
                ("sum_lat", models.FloatField()),
                ("sum_id", models.BigIntegerField()),
                ("casualties", models.BigIntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("zoom", "x", "y", "kind", "status"), name="events_incidentcell_key")
                ],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
