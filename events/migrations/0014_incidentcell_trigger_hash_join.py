"""The map cells' UPDATE trigger joins its two transition tables (old and new rows) on id. Inside PL/pgSQL the
planner does not know how many rows they hold, takes one, and joins them in a nested loop: an UPDATE of 5,000
incidents compared 25 million pairs, twice, for 18 s (an import's sides refresh, refresh_nearest_bases). Nested
loops are turned off for that function only, so the join is hashed; its result is the same.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0013_ucdp_kinds_and_precisions"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER FUNCTION events_incidentcell_track() SET enable_nestloop = off",
            "ALTER FUNCTION events_incidentcell_track() RESET enable_nestloop",
        ),
    ]
