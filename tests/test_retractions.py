"""Retracted incidents (issue 20): a source's withdrawn event leaves every public output, answers 410 Gone with
its reason at its own URL, keeps its history and links (shown to editors with a warning), and comes back when
the source sends it again."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.contrib.gis.geos import Point

from events.imports import ImportContext, import_incidents
from events.imports.records import ParsedIncident
from events.imports.retract import retract_deleted, retract_missing
from events.models import Incident, IncidentCell, LinkSuggestion
from events.tasks import refresh_suggestions

from .factories import ActorFactory, IncidentFactory, IncidentLinkFactory, InvolvementFactory

pytestmark = pytest.mark.django_db

WHOLE_REGION = "20,20,60,45"
DELETED = int(dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC).timestamp())


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return sorted(f["id"] for f in response.json()["features"])


def public_outputs(client) -> dict:
    """What every public output holds: the list and its count, the map (from the counted cells, and counted
    from the rows), the timeline, the CSV and GeoJSON downloads, OGC's items and extent."""
    listed = client.get("/api/v1/incidents/")
    cells = client.get(f"/api/v1/incidents/clusters/?zoom=5&bbox={WHOLE_REGION}").json()
    rows = client.get(f"/api/v1/incidents/clusters/?zoom=5&bbox={WHOLE_REGION}&start=1900-01-01").json()
    timeline = client.get("/api/v1/timeline/?bucket=month").json()
    exported = b"".join(client.get("/api/v1/incidents/?format=csv").streaming_content).decode()
    geojson = json.loads(b"".join(client.get("/api/v1/incidents/?format=geojson").streaming_content))
    ogc = client.get("/ogc/collections/incidents/items")
    return {
        "list": _ids(listed),
        "matched": listed.json()["numberMatched"],
        "cells": cells["numberMatched"],
        "rows": rows["numberMatched"],
        "timeline": sum(bucket["total"] for bucket in timeline["buckets"]),
        "csv": sorted(row["event_id_cnty"] for row in csv.DictReader(io.StringIO(exported))),
        "geojson": sorted(f["id"] for f in geojson["features"]),
        "ogc": _ids(ogc),
    }


@pytest.fixture
def pair():
    """An attack and the strike that answered it, both ACLED's, at the same place."""
    militia, us = ActorFactory(), ActorFactory()
    strike = IncidentFactory(
        dataset="acled", external_id="IRQ1", occurred_on=dt.date(2025, 5, 1), location=Point(42.44, 33.78)
    )
    attack = IncidentFactory(
        dataset="acled", external_id="IRQ2", occurred_on=dt.date(2025, 5, 3), location=Point(42.45, 33.79)
    )
    InvolvementFactory(incident=strike, actor=us, role="attacker")
    InvolvementFactory(incident=strike, actor=militia, role="target")
    InvolvementFactory(incident=attack, actor=militia, role="attacker")
    InvolvementFactory(incident=attack, actor=us, role="target")
    return strike, attack


def test_a_retraction_leaves_no_trace_in_any_public_output_and_its_url_is_gone(client, editor_api, pair):
    strike, attack = pair
    link = IncidentLinkFactory(incident=attack, prior=strike)
    before = public_outputs(client)
    assert before["list"] == before["geojson"] == before["ogc"] == sorted([strike.pk, attack.pk])
    assert before["csv"] == ["IRQ1", "IRQ2"]

    assert retract_deleted("acled", [("IRQ1", DELETED)], job_id=None, history_reason="ACLED sync #1") == [strike.pk]

    after = public_outputs(client)
    assert after["list"] == after["geojson"] == after["ogc"] == [attack.pk]
    assert after["csv"] == ["IRQ2"]
    assert after["matched"] == after["cells"] == after["rows"] == 1
    assert (before["timeline"], after["timeline"]) == (2, 1)
    # The map's counted cells hold it under its own status, which no view reads.
    assert IncidentCell.objects.filter(zoom=5, status="retracted").values_list("count", flat=True).get() == 1
    # Its own URL, for anyone, says why and since when.
    for api in (client, editor_api):
        gone = api.get(f"/api/v1/incidents/{strike.pk}/")
        assert gone.status_code == 410
        body = gone.json()
        assert body["detail"] == f"Incident {strike.pk} was retracted: deleted by ACLED on 2025-06-01."
        assert (body["status"], body["reason"]) == ("retracted", "deleted by ACLED on 2025-06-01")
        assert body["retracted_at"].startswith(str(dt.datetime.now(dt.UTC).date()))
        assert api.get(f"/api/v1/incidents/{strike.pk}/chain/").status_code == 410
    ogc = client.get(f"/ogc/collections/incidents/items/{strike.pk}")
    assert (ogc.status_code, ogc.json()["code"]) == (410, "Gone")
    assert "deleted by ACLED on 2025-06-01" in ogc.json()["description"]
    assert client.get("/api/v1/incidents/99999999/").status_code == 404
    # Editors do not list it either, but see the link to it, with a warning; the public sees no link.
    assert _ids(editor_api.get("/api/v1/incidents/")) == [attack.pk]
    warning = f"Retracted: incident {strike.pk} (deleted by ACLED on 2025-06-01)."
    detail = editor_api.get(f"/api/v1/incidents/{attack.pk}/").json()
    assert [(x["id"], x["warning"]) for x in detail["properties"]["links_out"]] == [(link.pk, warning)]
    assert [(x["id"], x["warning"]) for x in editor_api.get("/api/v1/links/").json()["results"]] == [(link.pk, warning)]
    assert client.get(f"/api/v1/incidents/{attack.pk}/").json()["properties"]["links_out"] == []
    assert client.get("/api/v1/links/").json()["results"] == []
    # Its history is kept, with the retraction as its last change.
    strike.refresh_from_db()
    last = strike.history.order_by("-history_id").first()
    assert (last.history_type, last.status, last.history_change_reason) == ("~", "retracted", "ACLED sync #1")
    assert (strike.status, strike.retracted_reason) == ("retracted", "deleted by ACLED on 2025-06-01")
    # A second notice of the same deletion changes nothing.
    assert retract_deleted("acled", [("IRQ1", DELETED)], job_id=None, history_reason="ACLED sync #2") == []


def test_a_retracted_incident_is_neither_suggested_nor_a_candidate_nor_in_the_analytics(client, pair):
    strike, attack = pair
    refresh_suggestions([strike.pk, attack.pk])
    assert LinkSuggestion.objects.filter(incident=attack, prior=strike).exists()
    assert client.get("/api/v1/analytics/response-lags/").json()["pairs_total"] == 2  # the dyad, both ways

    retract_deleted("acled", [("IRQ1", DELETED)], job_id=None, history_reason="ACLED sync #1")
    refresh_suggestions([strike.pk])

    assert not LinkSuggestion.objects.exists()
    assert client.get("/api/v1/links/suggestions/").json()["results"] == []
    assert client.get("/api/v1/analytics/response-lags/").json()["pairs_total"] == 0


def test_the_source_sending_it_again_brings_it_back_everywhere(client, pair):
    strike, attack = pair
    record = ParsedIncident(
        row=1, dataset="acled", external_id="IRQ1", occurred_on=strike.occurred_on, date_precision=1,
        kind=strike.kind, title="Strike, as ACLED has it again", lon=42.44, lat=33.78, country="IRQ",
    )  # fmt: skip
    context = ImportContext.load(user_id=None, reason="ACLED sync #3", publish=True)
    import_incidents([record], context=context)  # first import: an update of the factory's row
    before = public_outputs(client)
    retract_deleted("acled", [("IRQ1", DELETED)], job_id=None, history_reason="ACLED sync #4")

    # The same content, sent again: not "unchanged", restored.
    outcome = import_incidents([record], context=context)

    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 1, 0)
    assert outcome.published_ids == [strike.pk]
    strike.refresh_from_db()
    assert (strike.status, strike.retracted_reason, strike.retracted_at) == ("published", "", None)
    assert public_outputs(client) == before
    assert client.get(f"/api/v1/incidents/{strike.pk}/").status_code == 200
    assert [h.status for h in strike.history.order_by("history_id")][-3:] == ["published", "retracted", "published"]


def test_a_deletion_older_than_the_rows_last_change_retracts_nothing(pair):
    strike, _ = pair
    record = ParsedIncident(
        row=1, dataset="acled", external_id="IRQ1", occurred_on=strike.occurred_on, date_precision=1,
        kind=strike.kind, title="Re-added after its deletion", source_timestamp=DELETED + 60,
    )  # fmt: skip
    import_incidents([record], context=ImportContext.load(user_id=None, reason="sync", publish=True))

    assert retract_deleted("acled", [("IRQ1", DELETED)], job_id=None, history_reason="sync") == []


def test_missing_from_a_version_retracts_only_inside_its_dates_and_countries():
    kept = IncidentFactory(dataset="ucdp-ged", external_id="1", occurred_on=dt.date(2024, 5, 1))
    missing = IncidentFactory(dataset="ucdp-ged", external_id="2", occurred_on=dt.date(2024, 5, 2))
    earlier = IncidentFactory(dataset="ucdp-ged", external_id="3", occurred_on=dt.date(2023, 1, 1))
    elsewhere = IncidentFactory(dataset="ucdp-ged", external_id="4", occurred_on=dt.date(2024, 5, 2), country="TUR")
    other_dataset = IncidentFactory(dataset="acled", external_id="2", occurred_on=dt.date(2024, 5, 2))

    retracted = retract_missing(
        "ucdp-ged", ["1"], start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31), countries=["IRQ", "SYR"],
        reason="not in UCDP GED 26.0.8", job_id=None, history_reason="UCDP sync #1",
    )  # fmt: skip

    assert retracted == [missing.pk]
    statuses = dict(Incident.objects.values_list("id", "status"))
    assert statuses[missing.pk] == "retracted"
    assert {statuses[i.pk] for i in (kept, earlier, elsewhere, other_dataset)} == {"published"}


def test_the_api_does_not_retract_by_hand(editor_api, pair):
    strike, _ = pair
    response = editor_api.patch(
        f"/api/v1/incidents/{strike.pk}/", {"properties": {"status": "retracted"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "properties.status": ["Only a source's sync retracts an incident; use draft or published."]
    }
