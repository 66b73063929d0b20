"""The editors' admin: adding and correcting incidents, and refusing bad input with form errors."""

import json
import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Incident, IncidentLink

from .bodies import admin_incident_form as incident_form
from .factories import ActorFactory, BaseFactory, IncidentFactory, SourceFactory

pytestmark = pytest.mark.django_db


def with_casualty(data, **values):
    data.update({"casualties-TOTAL_FORMS": "1", "casualties-0-group": "us_contractor", "casualties-0-kind": "killed"})
    data.update({f"casualties-0-{k}": v for k, v in values.items()})
    return data


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def test_an_editor_adds_an_incident_with_a_point_casualties_and_actors(editor_client, editor):
    source = SourceFactory()
    militia = ActorFactory(name="Iran-backed Iraqi militias")
    base = BaseFactory()
    data = with_casualty(incident_form(source, base=str(base.pk)), best="1", note="cardiac event")
    data.update(
        {"involvements-TOTAL_FORMS": "1", "involvements-0-actor": str(militia.pk), "involvements-0-role": "attacker"}
    )

    response = editor_client.post(reverse("admin:events_incident_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    incident = Incident.objects.get()
    assert (incident.location.x, incident.location.y) == pytest.approx((42.4412, 33.7856))
    assert incident.created_by == editor
    assert list(incident.sources.all()) == [source]
    assert incident.involvements.get().actor == militia
    assert incident.casualties.get().best == 1
    # Derived figures are refreshed on save.
    assert incident.casualties_best == 1
    assert incident.nearest_base == base
    created = incident.history.earliest()
    assert created.history_type == "+"
    assert {h.history_user for h in incident.history.all()} == {editor}


def test_a_correction_is_recorded_in_the_history(editor_client, editor):
    incident = IncidentFactory(title="Rockets at Asad")
    data = incident_form(incident.sources.get(), title="Ten rockets at Ayn al-Asad")

    response = editor_client.post(reverse("admin:events_incident_change", args=[incident.pk]), data)

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.title == "Ten rockets at Ayn al-Asad"
    latest = incident.history.latest()
    assert latest.history_type == "~"
    assert latest.history_user == editor
    page = editor_client.get(reverse("admin:events_incident_history", args=[incident.pk]))
    assert page.status_code == 200
    # The Changes column shows the old and the new title (simple-history's diff), not only the object's name.
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>|&nbsp;", " ", page.content.decode()))
    assert "Title: Rockets at Asad &rarr; Ten rockets at Ayn al-Asad" in text
    assert latest.history_user.username in text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"location": json.dumps({"type": "Point", "coordinates": [200, 33.7]})}, "Longitude must be between"),
        ({"munitions": "-3"}, "greater than or equal to 0"),
        ({"sources": []}, "This field is required"),
        ({"country": "XXX"}, "not one of the available choices"),
    ],
    ids=["lon-out-of-range", "negative-munitions", "no-source", "bad-country"],
)
def test_bad_incident_input_gets_a_form_error_and_saves_nothing(editor_client, overrides, message):
    data = incident_form(SourceFactory(), **overrides)

    response = editor_client.post(reverse("admin:events_incident_add"), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("values", "message"),
    [({"best": "-1"}, "greater than or equal to 0"), ({"low": "5", "best": "2"}, "Low must not exceed best")],
    ids=["negative", "low>best"],
)
def test_bad_casualty_figures_get_a_form_error_and_save_nothing(editor_client, values, message):
    data = with_casualty(incident_form(SourceFactory()), **values)

    response = editor_client.post(reverse("admin:events_incident_add"), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Incident.objects.exists()


def test_a_link_to_itself_gets_a_form_error(editor_client):
    incident = IncidentFactory()
    source = incident.sources.get()
    data = incident_form(source)
    data.update(
        {
            "links_out-TOTAL_FORMS": "1",
            "links_out-0-prior": str(incident.pk),
            "links_out-0-relation": "response_to",
            "links_out-0-asserted_by": "An editor",
            "links_out-0-confidence": "low",
            "links_out-0-sources": [str(source.pk)],
        }
    )

    response = editor_client.post(reverse("admin:events_incident_change", args=[incident.pk]), data)

    assert response.status_code == 200
    assert "cannot be linked to itself" in response.content.decode()
    assert not IncidentLink.objects.exists()


def test_a_duplicate_external_id_gets_a_form_error(editor_client):
    IncidentFactory(dataset="acled", external_id="IRQ1")
    data = incident_form(SourceFactory(), dataset="acled", external_id="IRQ1")

    response = editor_client.post(reverse("admin:events_incident_add"), data)

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Incident.objects.count() == 1


def test_a_user_without_permission_is_refused(client, outsider):
    client.force_login(outsider)

    assert client.get(reverse("admin:events_incident_add")).status_code == 403
    response = client.post(reverse("admin:events_incident_add"), incident_form(SourceFactory()))
    assert response.status_code == 403
    assert not Incident.objects.exists()


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("admin:events_incident_add"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_editors_cannot_manage_users(editor_client):
    assert editor_client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert editor_client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_the_editors_group_holds_the_editorial_permissions():
    perms = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    assert {"add_incident", "change_incident", "delete_incident", "add_incidentlink", "change_trooplevel"} <= perms
    assert not {p for p in perms if p.endswith("_user") or p.endswith("_group")}


def test_admin_lists_search_and_autocomplete_work_on_the_seed(editor_client):
    call_command("load_seed")
    changelist = editor_client.get(
        reverse("admin:events_incident_changelist"), {"q": "Asad", "kind__exact": "rocket_attack"}
    )
    assert changelist.status_code == 200
    assert "Ten rockets hit Ayn al-Asad" in changelist.content.decode()

    autocomplete = editor_client.get(
        "/admin/autocomplete/",
        {"app_label": "events", "model_name": "involvement", "field_name": "actor", "term": "Kata"},
    )
    assert autocomplete.status_code == 200
    names = [r["text"] for r in autocomplete.json()["results"]]
    assert "Kata'ib Hezbollah" in names

    for url in [
        "admin:posture_base_changelist",
        "admin:posture_trooplevel_changelist",
        "admin:posture_actor_changelist",
    ]:
        assert editor_client.get(reverse(url)).status_code == 200


def test_the_map_widget_is_on_the_incident_form(editor_client):
    page = editor_client.get(reverse("admin:events_incident_add")).content.decode()
    assert "leaflet" in page.lower()
    assert 'id="id_location"' in page
    # The offline borders go under the widget, so placing a point works without a tile server.
    assert "js/admin-borders.js" in page


def test_manage_py_check_is_clean():
    call_command("check", fail_level="WARNING")
    call_command("makemigrations", check=True, dry_run=True)


def public_history(incident) -> list[dict]:
    """The incident's public changes, newest first, as an anonymous reader gets them."""
    response = Client().get(f"/api/v1/incidents/{incident.pk}/history/")
    assert response.status_code == 200, response.content
    return response.json()["changes"]


def retracted_incident(reason="deleted by ACLED on 2025-06-01") -> Incident:
    """A published incident, then retracted as a sync retracts it (one history row, the sync's reason)."""
    incident = IncidentFactory(title="Rockets at Asad")
    incident.status, incident.retracted_reason, incident.retracted_at = "retracted", reason, timezone.now()
    incident._change_reason = "ACLED sync #7"
    incident.save()
    return incident


def test_an_editor_s_reason_for_change_is_the_change_s_why_in_the_public_history(editor_client, editor):
    incident = IncidentFactory(title="Rockets at Asad")
    data = incident_form(incident.sources.get(), title="Ten rockets at Ayn al-Asad", reason="CENTCOM corrected it")

    response = editor_client.post(reverse("admin:events_incident_change", args=[incident.pk]), data)

    assert response.status_code == 302
    assert incident.history.latest().history_change_reason == "CENTCOM corrected it"
    updated, created = public_history(incident)
    assert (updated["change"], updated["by"], updated["reason"]) == ("updated", "editor", "CENTCOM corrected it")
    assert {"name": "title", "old": "Rockets at Asad", "new": "Ten rockets at Ayn al-Asad"} in updated["properties"]
    assert created["reason"] is None
    assert editor.username not in json.dumps([updated, created])


def test_a_reason_for_change_is_on_the_change_form_only_and_at_most_100_characters(editor_client):
    assert 'name="reason"' not in editor_client.get(reverse("admin:events_incident_add")).content.decode()
    incident = IncidentFactory(title="Rockets at Asad")
    rows = incident.history.count()
    url = reverse("admin:events_incident_change", args=[incident.pk])
    assert "Reason for change" in editor_client.get(url).content.decode()

    response = editor_client.post(url, incident_form(incident.sources.get(), title="Changed", reason="x" * 101))

    assert response.status_code == 200
    assert "at most 100 characters (it has 101)" in response.content.decode()
    # The public history would name the change by that import.
    response = editor_client.post(url, incident_form(incident.sources.get(), title="Changed", reason="Import #12"))
    assert response.status_code == 200
    assert "reads as an import" in response.content.decode()
    incident.refresh_from_db()
    assert incident.title == "Rockets at Asad"
    assert incident.history.count() == rows


def test_the_status_menu_does_not_offer_retracted(editor_client):
    incident = IncidentFactory()
    url = reverse("admin:events_incident_change", args=[incident.pk])
    assert 'value="retracted"' not in editor_client.get(url).content.decode()
    assert 'value="retracted"' not in editor_client.get(reverse("admin:events_incident_add")).content.decode()

    response = editor_client.post(url, incident_form(incident.sources.get(), status="retracted"))

    assert response.status_code == 200
    assert "not one of the available choices" in response.content.decode()
    incident.refresh_from_db()
    assert (incident.status, incident.retracted_reason, incident.retracted_at) == ("published", "", None)


def test_a_retracted_incident_shows_its_retraction_read_only_and_an_edit_keeps_it_retracted(editor_client):
    incident = retracted_incident()
    url = reverse("admin:events_incident_change", args=[incident.pk])

    page = editor_client.get(url).content.decode()

    assert "Retracted by its source" in page
    assert "Only a source's sync retracts" in page
    assert "deleted by ACLED on 2025-06-01" in page
    assert 'name="retracted_reason"' not in page
    assert 'name="retracted_at"' not in page
    assert 'value="retracted"' not in page
    assert "— keep it retracted —" in page

    # Left as it is, the status stays retracted, with its reason and time, whatever else the editor corrects.
    response = editor_client.post(url, incident_form(incident.sources.get(), title="Ten rockets", status=""))

    assert response.status_code == 302
    retracted_at = incident.retracted_at
    incident.refresh_from_db()
    assert (incident.title, incident.status) == ("Ten rockets", "retracted")
    assert (incident.retracted_reason, incident.retracted_at) == ("deleted by ACLED on 2025-06-01", retracted_at)


def test_an_editor_who_publishes_a_retracted_incident_again_clears_its_retraction(editor_client, editor):
    incident = retracted_incident()
    data = incident_form(incident.sources.get(), title="Rockets at Asad", status="published", reason="ACLED erred")

    response = editor_client.post(reverse("admin:events_incident_change", args=[incident.pk]), data)

    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.retracted_reason, incident.retracted_at) == ("published", "", None)
    latest = incident.history.latest()
    assert (latest.status, latest.retracted_reason, latest.retracted_at) == ("published", "", None)
    restored, retracted, _ = public_history(incident)
    assert (restored["change"], restored["by"], restored["reason"]) == ("restored", "editor", "ACLED erred")
    assert retracted["reason"] == "deleted by ACLED on 2025-06-01"
    assert Client().get(f"/api/v1/incidents/{incident.pk}/").status_code == 200
