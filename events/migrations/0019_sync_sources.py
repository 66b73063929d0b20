"""The syncs of issue 20: ACLED's OAuth sync with its deletions and UCDP's API sync. Their state (tokens, the
last deletion seen, the UCDP version read, the retracted count of a run), and their beat schedules: ACLED every
6 hours instead of every hour, UCDP once a day. An ACLED schedule an admin changed from the old hourly one is
left as it is."""

from django.db import migrations, models

ACLED = "Sync incidents from the ACLED API"
UCDP = "Sync incidents from the UCDP GED API"


def setup(apps, schema_editor):
    """Idempotent: tests replay it after a flush (tests/conftest.py, restore_migration_data)."""
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    SyncState = apps.get_model("events", "SyncState")
    every_6_hours, _ = IntervalSchedule.objects.get_or_create(every=6, period="hours")
    daily, _ = IntervalSchedule.objects.get_or_create(every=24, period="hours")
    PeriodicTask.objects.filter(name=ACLED, interval__every=1, interval__period="hours").update(interval=every_6_hours)
    PeriodicTask.objects.get_or_create(name=UCDP, defaults={"task": "events.tasks.sync_ucdp", "interval": daily})
    # The rows of the admin's Sync states page, from which an editor starts a run.
    for name in ("acled", "ucdp"):
        SyncState.objects.get_or_create(name=name)


def teardown(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.filter(name=ACLED, interval__every=6, interval__period="hours").update(interval=hourly)
    PeriodicTask.objects.filter(name=UCDP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0018_public_history_indexes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="retracted_count",
            field=models.PositiveIntegerField(default=0, verbose_name="retracted"),
        ),
        migrations.AddField(
            model_name="syncstate",
            name="access_token",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="syncstate",
            name="last_deleted_timestamp",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="syncstate",
            name="refresh_token",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="syncstate",
            name="token_expires_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="syncstate",
            name="version",
            field=models.CharField(blank=True, help_text="UCDP: the GED version last read in full.", max_length=20),
        ),
        migrations.AlterField(
            model_name="importjob",
            name="format",
            field=models.CharField(
                choices=[
                    ("acled", "ACLED CSV export"),
                    ("geojson", "GeoJSON FeatureCollection (this project's format)"),
                    ("csv", "CSV export (this project's format)"),
                    ("ucdp", "UCDP GED CSV (Georeferenced Event Dataset)"),
                    ("acled_api", "ACLED API (sync)"),
                    ("ucdp_api", "UCDP GED API (sync)"),
                ],
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="importjob",
            name="via",
            field=models.CharField(
                choices=[
                    ("admin", "Admin upload"),
                    ("api", "API"),
                    ("command", "Command line"),
                    ("sync", "Sync (ACLED, UCDP)"),
                ],
                default="admin",
                max_length=10,
            ),
        ),
        migrations.RunPython(setup, teardown),
    ]
