"""The suggestions' tables join the data version: the suggestions endpoint and response-lags read them, and a
suggestion refresh runs in a task after the incident's own commit, so without these triggers an answer cached
in between would keep last version's suggestions under the new version's name."""

from django.db import migrations

TABLES = ["events_linksuggestion", "events_suggestionrejection"]


class Migration(migrations.Migration):
    dependencies = [("ops", "0001_data_version"), ("events", "0011_link_suggestions")]

    operations = [
        migrations.RunSQL(
            [f"SELECT ops_dataversion_triggers('{table}')" for table in TABLES],
            [
                f"DROP TRIGGER ops_dataversion_{event} ON {table}"
                for table in TABLES
                for event in ("insert", "update", "delete", "truncate")
            ],
        )
    ]
