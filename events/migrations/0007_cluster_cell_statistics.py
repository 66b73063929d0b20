"""Statistics that tell the planner how many map cells the incidents fall into at each zoom level.

/api/v1/incidents/clusters/ groups the incidents by floor(lon / cell), floor(lat / cell) and kind. Without
statistics on those expressions PostgreSQL assumes one group per row: it then plans one serial aggregate
over a million rows instead of a partial aggregate in each parallel worker. ANALYZE fills these in; writes
do not maintain them, so they cost imports nothing.

The divisor must be the very constant the query uses (IncidentCell.degrees: 60 pixels
of a 256-pixel tile, 360 / 2^zoom * 60 / 256 degrees), written as a float8, or the planner does not match
the expression to its statistics. Every value is a power-of-two fraction of 84.375, so it is exact.
"""

from django.db import migrations

ZOOMS = range(23)  # api.clusters.MAX_ZOOM + 1


def cell(zoom: int) -> float:
    return 360 / 2**zoom * 60 / 256


def create(zoom: int) -> str:
    divisor = f"{cell(zoom)!r}::float8"
    return (
        f"CREATE STATISTICS events_incident_cells_z{zoom} (ndistinct) ON "
        f"(floor(ST_X(location) / {divisor})), (floor(ST_Y(location) / {divisor})), kind FROM events_incident"
    )


class Migration(migrations.Migration):
    dependencies = [("events", "0006_api_indexes")]

    operations = [
        migrations.RunSQL(
            [create(zoom) for zoom in ZOOMS] + ["ANALYZE events_incident"],
            [f"DROP STATISTICS events_incident_cells_z{zoom}" for zoom in ZOOMS],
        )
    ]
