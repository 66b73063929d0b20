from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the site: health probes, failing dependencies, abuse limits, backups. Holds no models."""

    name = "ops"
    verbose_name = "Operations"
