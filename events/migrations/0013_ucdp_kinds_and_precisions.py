"""UCDP GED imports: the kind "unknown" (violence a row does not say enough about), the date precision "year"
(UCDP's date_prec 5), and the "ucdp" import format. Choices only: no column changes."""

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0012_incident_actor_names"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalincident",
            name="date_precision",
            field=models.PositiveSmallIntegerField(
                choices=[(1, "day"), (2, "week"), (3, "month"), (4, "year")], default=1
            ),
        ),
        migrations.AlterField(
            model_name="historicalincident",
            name="kind",
            field=models.CharField(
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
                    ("unknown", "Violence of unknown kind"),
                ],
                max_length=30,
            ),
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
                ],
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="incident",
            name="date_precision",
            field=models.PositiveSmallIntegerField(
                choices=[(1, "day"), (2, "week"), (3, "month"), (4, "year")], default=1
            ),
        ),
        migrations.AlterField(
            model_name="incident",
            name="kind",
            field=models.CharField(
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
                    ("unknown", "Violence of unknown kind"),
                ],
                max_length=30,
            ),
        ),
        migrations.AlterField(
            model_name="incidentcell",
            name="kind",
            field=models.CharField(
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
                    ("unknown", "Violence of unknown kind"),
                ],
                max_length=30,
            ),
        ),
        migrations.AlterField(
            model_name="subscription",
            name="kinds",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(
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
                        ("unknown", "Violence of unknown kind"),
                    ],
                    max_length=30,
                ),
                blank=True,
                default=list,
                help_text="Only these kinds; none selected means every kind.",
                size=None,
            ),
        ),
    ]
