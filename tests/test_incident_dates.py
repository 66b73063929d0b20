"""No incident dated before 1900 or after tomorrow: an admin form error, a 400 naming the field, and a database
constraint beneath both (a two-digit year read as year 20 is the misreading this stops)."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from events.models import Incident

from .bodies import admin_incident_form as incident_form
from .bodies import incident_feature as feature
from .factories import IncidentFactory, SourceFactory
from .test_api_writes import URL

pytestmark = pytest.mark.django_db

TOMORROW = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
OUT_OF_RANGE = [
    ("0020-05-01", "greater than or equal to 1900-01-01"),
    ("1899-12-31", "greater than or equal to 1900-01-01"),
    ((TOMORROW + dt.timedelta(days=1)).isoformat(), f"Must not be after tomorrow ({TOMORROW})"),
]
IDS = ["year-20", "1899", "after-tomorrow"]


@pytest.mark.parametrize(("day", "message"), OUT_OF_RANGE, ids=IDS)
def test_the_admin_refuses_a_date_out_of_range_with_a_form_error(client, editor, day, message):
    client.force_login(editor)

    response = client.post(reverse("admin:events_incident_add"), incident_form(SourceFactory(), occurred_on=day))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Incident.objects.exists()


@pytest.mark.parametrize(("day", "message"), OUT_OF_RANGE, ids=IDS)
def test_the_api_refuses_a_date_out_of_range_naming_the_field(editor_api, day, message):
    response = editor_api.post(URL, feature(SourceFactory(), occurred_on=day), format="json")

    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()["errors"]["properties.occurred_on"]), response.json()
    assert not Incident.objects.exists()


def test_the_first_day_of_1900_and_tomorrow_are_taken(editor_api):
    source = SourceFactory()
    for day in ("1900-01-01", TOMORROW.isoformat()):
        response = editor_api.post(URL, feature(source, occurred_on=day), format="json")
        assert response.status_code == 201, response.content

    assert sorted(Incident.objects.values_list("occurred_on", flat=True)) == [dt.date(1900, 1, 1), TOMORROW]


@pytest.mark.parametrize("day", [dt.date(20, 5, 1), TOMORROW + dt.timedelta(days=1)], ids=["year-20", "after-tomorrow"])
def test_the_database_refuses_a_date_out_of_range_whatever_writes_it(day):
    incident = IncidentFactory()

    with pytest.raises(IntegrityError, match="events_incident_occurred_on_range"), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(occurred_on=day)
    with (
        pytest.raises(IntegrityError, match="events_incident_occurred_on_range"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE events_incident SET occurred_on = %s WHERE id = %s", [day, incident.pk])
