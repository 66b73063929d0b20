"""No incident dated before 1900-01-01 or after tomorrow: a CHECK on events_incident, and the same bounds as
field validators (admin and API).

A deployment that imported two-digit years as year 20 has such rows; the migration then stops, naming how many
and which, rather than failing on the constraint with no ids. Fix or delete them and migrate again.
"""

import datetime

import django.core.validators
import django.db.models.expressions
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

import events.models.incidents

CHECK_EXISTING = """
DO $$
DECLARE bad bigint; ids text;
BEGIN
    SELECT count(*), string_agg(id::text, ', ' ORDER BY id) FILTER (WHERE rn <= 20) INTO bad, ids
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM events_incident
          WHERE occurred_on < DATE '1900-01-01' OR occurred_on > current_date + 1) AS b;
    IF bad > 0 THEN
        RAISE EXCEPTION '% incidents are dated before 1900-01-01 or after tomorrow (ids %); fix or delete them first',
            bad, ids;
    END IF;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0008_incident_cells"),
        ("posture", "0002_constraint_messages"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunSQL(CHECK_EXISTING, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="historicalincident",
            name="occurred_on",
            field=models.DateField(
                help_text="With week or month precision, any day in that week or month.",
                validators=[
                    django.core.validators.MinValueValidator(datetime.date(1900, 1, 1)),
                    events.models.incidents.not_after_tomorrow,
                ],
            ),
        ),
        migrations.AlterField(
            model_name="incident",
            name="occurred_on",
            field=models.DateField(
                help_text="With week or month precision, any day in that week or month.",
                validators=[
                    django.core.validators.MinValueValidator(datetime.date(1900, 1, 1)),
                    events.models.incidents.not_after_tomorrow,
                ],
            ),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("occurred_on__gte", datetime.date(1900, 1, 1)),
                    (
                        "occurred_on__lte",
                        django.db.models.expressions.CombinedExpression(
                            django.db.models.functions.datetime.Now(), "+", models.Value(datetime.timedelta(days=1))
                        ),
                    ),
                ),
                name="events_incident_occurred_on_range",
                violation_error_message="The date must be between 1900-01-01 and tomorrow.",
            ),
        ),
    ]
