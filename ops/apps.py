from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OpsConfig(AppConfig):
    """Running the site: health probes, failing dependencies, abuse limits, backups, the database's own
    functions and triggers (ops/sql_objects.py). Holds no models."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from ops.sql_objects import sync_after_migrate

        # A schema step: after a migrate, every app's sql/ files are applied to the database.
        post_migrate.connect(sync_after_migrate, dispatch_uid="ops.sql_objects")
