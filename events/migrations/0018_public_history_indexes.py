"""The indexes the public history reads (api/changes.py): the public history rows in the changes feed's order,
and the retracted ones, through which the feed finds the rare retractions and restorations without telling every
row's change apart. Partial, so that drafts' rows (a drafts-only import's 100,000) cost them nothing.

Raw SQL because simple-history builds the historical model's Meta itself, so no model declares them.
"""

from django.db import migrations

PUBLIC = """
CREATE INDEX events_historicalincident_public ON events_historicalincident (history_date, history_id)
WHERE status IN ('published', 'retracted')
"""
RETRACTED = """
CREATE INDEX events_historicalincident_retracted ON events_historicalincident (history_date, history_id)
WHERE status = 'retracted'
"""


class Migration(migrations.Migration):
    dependencies = [("events", "0017_incident_retracted")]

    operations = [
        migrations.RunSQL(PUBLIC, "DROP INDEX events_historicalincident_public"),
        migrations.RunSQL(RETRACTED, "DROP INDEX events_historicalincident_retracted"),
    ]
