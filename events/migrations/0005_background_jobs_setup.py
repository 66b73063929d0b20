from django.contrib.auth.management import create_permissions
from django.db import migrations

# Editors run imports and manage webhook subscriptions; they may look at deliveries (and retry them by
# editing) and at the sync state, but never manage users or the beat schedule.
EDITOR_PERMISSIONS = {
    "importjob": ["add", "change", "delete", "view"],
    "importrowerror": ["view"],
    "subscription": ["add", "change", "delete", "view"],
    "delivery": ["change", "view"],
    "syncstate": ["view"],
}

# Beat schedules, editable in the admin under "Periodic tasks". get_or_create keeps an edited schedule.
PERIODIC_TASKS = [
    ("Sync incidents from the ACLED API", "events.tasks.sync_acled", "hours", 1),
    ("Send due webhook deliveries (outbox)", "events.tasks.drain_outbox", "minutes", 1),
    ("Resume stalled imports", "events.tasks.resume_stalled_imports", "minutes", 5),
]


def setup(apps, schema_editor):
    app_config = apps.get_app_config("events")
    # Permissions are normally created after all migrations run; create them now so the group can hold them.
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Editors")
    codenames = [f"{action}_{model}" for model, actions in EDITOR_PERMISSIONS.items() for action in actions]
    group.permissions.add(*Permission.objects.filter(content_type__app_label="events", codename__in=codenames))

    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, period, every in PERIODIC_TASKS:
        schedule, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": schedule})


def teardown(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[name for name, *_ in PERIODIC_TASKS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0004_background_jobs"),
        ("events", "0002_editors_group"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(setup, teardown)]
