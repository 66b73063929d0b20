from django.contrib.auth.management import create_permissions
from django.db import migrations

# Editors add and correct everything editorial; they never manage users, groups or the schedule.
EDITORIAL_MODELS = {
    "posture": ["source", "actor", "affiliation", "base", "basestatus", "trooplevel"],
    "events": ["incident", "involvement", "casualty", "incidentlink"],
}
ACTIONS = ["add", "change", "delete", "view"]


def create_editors_group(apps, schema_editor):
    # Permissions are normally created after all migrations run; create them now so the group can
    # hold them on a fresh database.
    for app_label in EDITORIAL_MODELS:
        app_config = apps.get_app_config(app_label)
        # create_permissions skips app configs without a models module, which migration stubs lack.
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Editors")
    codenames = [f"{action}_{model}" for models in EDITORIAL_MODELS.values() for model in models for action in ACTIONS]
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=EDITORIAL_MODELS.keys(), codename__in=codenames)
    )


def remove_editors_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Editors").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_initial"),
        ("posture", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors_group, remove_editors_group)]
