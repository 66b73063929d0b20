"""The import formats and the import endpoint, run in-process (the worker tests are in test_jobs_import.py)."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from events import imports as importing
from events.models import Casualty, ImportJob, Incident, Involvement

from .acled_rows import acled_rows, write_acled_csv
from .factories import ActorFactory, BaseFactory, CasualtyFactory, IncidentFactory, InvolvementFactory

pytestmark = pytest.mark.django_db


def run(content: bytes, fmt: str, name: str = "upload", **fields) -> ImportJob:
    job = ImportJob.objects.create(file=ContentFile(content, name=name), format=fmt, **fields)
    importing.run_import(job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture
def recorded():
    """Two incidents as an editor would record them: actors on both sides, casualties, a targeted base."""
    militia, us = ActorFactory(name="Kata'ib Hezbollah"), ActorFactory(name="United States", kind="state")
    rockets = IncidentFactory(title="Ten rockets hit Ayn al-Asad", weapon="rockets", munitions=10)
    InvolvementFactory(incident=rockets, actor=militia, role=Involvement.Role.ATTACKER)
    InvolvementFactory(incident=rockets, actor=us, role=Involvement.Role.TARGET)
    CasualtyFactory(incident=rockets, group=Casualty.Group.US_CONTRACTOR, kind=Casualty.Kind.KILLED, best=1)
    CasualtyFactory(incident=rockets, group=Casualty.Group.US_MILITARY, kind=Casualty.Kind.TBI, best=3)
    strike = IncidentFactory(title="US strike on militia depots", kind="air_strike", country="SYR", location=None)
    for incident in (rockets, strike):
        incident.refresh_derived()
    return rockets, strike


def snapshot(incident: Incident) -> tuple:
    actors = sorted(incident.involvements.values_list("role", "actor__name"))
    location = (round(incident.location.x, 6), round(incident.location.y, 6)) if incident.location else None
    return (
        incident.occurred_on,
        incident.kind,
        incident.title,
        incident.country,
        location,
        incident.weapon,
        incident.munitions,
        incident.casualties_best,
        incident.fatalities_best,
        actors,
    )


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_our_own_export_imports_back_as_the_same_incidents(client, recorded, fmt):
    before = {incident.pk: snapshot(incident) for incident in recorded}
    response = client.get("/api/v1/incidents/", {"format": fmt})
    body = b"".join(response.streaming_content)
    assert importing.detect_format(f"incidents.{fmt}", body[:4096]) == fmt
    Incident.objects.all().delete()

    job = run(body, fmt)

    assert job.counts() == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0}
    for old_id, old in before.items():
        # Rows with no external id of their own come back keyed by their id where they were exported.
        incident = Incident.objects.get(dataset="fpd", external_id=f"FPD{old_id}")
        assert snapshot(incident) == old
        assert incident.sources.exists()
    assert run(body, fmt).counts() == {"created": 0, "updated": 0, "unchanged": 2, "failed": 0}


def test_an_exported_acled_row_keeps_its_dataset_and_external_id(client):
    run(write_acled_csv_bytes(acled_rows(3)), "acled")
    exported = b"".join(client.get("/api/v1/incidents/", {"format": "csv"}).streaming_content)

    job = run(exported, "csv")

    # The same three ACLED events, read back in our format: matched, not duplicated.
    assert job.failed_count == 0
    assert job.created_count == 0
    assert Incident.objects.filter(dataset="acled").count() == 3


def write_acled_csv_bytes(rows) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as directory:
        return write_acled_csv(Path(directory) / "rows.csv", rows).read_bytes()


def test_bad_features_are_reported_and_the_rest_imported():
    good = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [42.4, 33.8]},
            "properties": {"external_id": "A1", "dataset": "ours", "occurred_on": "2021-03-03", "kind": "rocket_attack",
                           "title": "Rockets", "attackers": ["Kataib Hezbollah"]}}  # fmt: skip
    collection = {
        "type": "FeatureCollection",
        "features": [
            good,
            {**good, "properties": {**good["properties"], "external_id": "A2", "kind": "picnic"}},
            {**good, "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}},
            "not a feature",
            {**good, "properties": {**good["properties"], "external_id": "A3", "date_precision": "fortnight"}},
        ],
    }

    job = run(json.dumps(collection).encode(), "geojson")

    assert job.counts() == {"created": 1, "updated": 0, "unchanged": 0, "failed": 4}
    assert [(e.row, e.external_id, e.reason.split(":")[0]) for e in job.row_errors.all()] == [
        (2, "A2", "kind"),
        (3, "A1", "geometry"),
        (4, "", "not a GeoJSON Feature"),
        (5, "A3", "date_precision"),
    ]
    assert Incident.objects.get().involvements.get().actor.name == "Kataib Hezbollah"


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        (b"", "acled", "The file is empty."),
        (b"a,b,c\n1,2,3\n", "acled", "Missing column(s): event_id_cnty"),
        (b"{not json", "geojson", "The file is not valid JSON"),
        (b'{"type": "Feature"}', "geojson", "The file is not a GeoJSON FeatureCollection."),
    ],
)
def test_a_file_that_cannot_be_read_fails_the_job_with_the_reason(content, fmt, message):
    job = run(content, fmt)
    assert job.status == ImportJob.Status.FAILED
    assert message in job.message


# --- POST /api/v1/imports/ ---------------------------------------------------------------------------------


@pytest.fixture
def csv_upload(tmp_path):
    return write_acled_csv(tmp_path / "acled.csv", acled_rows(2))


def test_an_editor_uploads_a_file_and_gets_202_with_the_job(api_client, editor, csv_upload):
    api_client.force_authenticate(editor)
    with open(csv_upload, "rb") as f:
        response = api_client.post("/api/v1/imports/", {"file": f, "draft": "true"}, format="multipart")

    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert response.json()["id"] == job.pk
    assert (job.format, job.as_draft, job.via, job.created_by, job.status) == ("acled", True, "api", editor, "queued")
    assert job.original_name == "acled.csv"
    detail = api_client.get(f"/api/v1/imports/{job.pk}/").json()
    assert (detail["status"], detail["draft"], detail["rows_done"], detail["created_by"]) == (
        "queued",
        True,
        0,
        editor.username,
    )
    assert [item["id"] for item in api_client.get("/api/v1/imports/").json()["results"]] == [job.pk]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "file", "No file was submitted."),
        ({"file": ("x.csv", b"a,b\n1,2\n")}, "file", "Missing column(s)"),
        ({"file": ("x.json", b"[1, 2]")}, "file", "not a GeoJSON FeatureCollection"),
        ({"file": ("x.csv", b"\x00\x01binary")}, "file", "Cannot be imported"),
        ({"file": ("x.csv", b"event_id_cnty\n"), "format": "xlsx"}, "format", "is not a valid choice"),
    ],
)
def test_a_bad_upload_gets_a_400_naming_the_field(api_client, editor, data, field, message):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api_client.force_authenticate(editor)
    body = {k: SimpleUploadedFile(*v) if isinstance(v, tuple) else v for k, v in data.items()}
    response = api_client.post("/api/v1/imports/", body, format="multipart")

    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"][field])
    assert not ImportJob.objects.exists()


def test_a_json_body_is_a_400_that_asks_for_multipart(api_client, editor):
    api_client.force_authenticate(editor)
    response = api_client.post("/api/v1/imports/", {"file": "x"}, format="json")
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["errors"]["Content-Type"][0]


def test_imports_are_for_editors_only(api_client, outsider, csv_upload):
    with open(csv_upload, "rb") as f:
        assert api_client.post("/api/v1/imports/", {"file": f}, format="multipart").status_code == 401
    assert api_client.get("/api/v1/imports/").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=outsider).key}")
    with open(csv_upload, "rb") as f:
        assert api_client.post("/api/v1/imports/", {"file": f}, format="multipart").status_code == 403
    assert api_client.get("/api/v1/imports/").status_code == 403
    assert not ImportJob.objects.exists()


HOSTILE = [
    {
        "kind": ["rocket_attack"],
        "title": {"a": 1},
        "occurred_on": 20210303,
        "date_precision": {"x": 1},
        "actors": "Kataib Hezbollah",
        "casualties": [{"group": ["us_military"], "kind": "killed", "best": [1]}],
        "sources": [{"publisher": {"p": 1}, "title": "t", "reliability": []}],
        "munitions": [10],
        "country": 368,
        "id": {"nested": True},
    },
    {"external_id": "x" * 101, "title": "t", "kind": "rocket_attack", "occurred_on": "2021-03-03"},
    {"external_id": "A", "title": "t\x00", "kind": "rocket_attack", "occurred_on": "2021-03-03"},
    {"id": 7, "title": "t", "kind": "rocket_attack", "occurred_on": "2021-03-03", "casualties": [{"group": "other"}]},
    {},
]


@pytest.mark.parametrize("properties", HOSTILE)
def test_strange_values_in_a_file_refuse_the_row_and_never_stop_the_import(properties):
    problem = importing.parse_own(properties, 1, "", geometry={"type": "Point", "coordinates": ["a", None]})
    assert isinstance(problem, importing.RowProblem)
    assert problem.reason


def test_strange_values_from_the_acled_api_refuse_the_row():
    row = {"event_id_cnty": "IRQ1", "event_date": ["2021-03-03"], "latitude": {}, "longitude": None,
           "time_precision": [1], "fatalities": {"n": 1}, "event_type": 7}  # fmt: skip
    problem = importing.parse_acled(row, 1)
    assert isinstance(problem, importing.RowProblem)
    assert [reason.split(":")[0] for reason in problem.reason.split("; ")] == [
        "event_date",
        "time_precision",
        "event_type",
        "longitude",
        "fatalities",
    ]


def test_the_import_list_and_detail_take_the_same_queries_whatever_the_number_of_jobs(
    api_client, editor, django_assert_num_queries
):
    from events.models import ImportRowError

    api_client.force_authenticate(editor)
    jobs = [ImportJob.objects.create(format="acled", created_by=editor) for _ in range(5)]
    ImportRowError.objects.bulk_create(ImportRowError(job=jobs[0], row=n, reason="bad") for n in range(2, 12))

    # permissions (2), count, page (with the uploader joined)
    with django_assert_num_queries(4):
        listed = api_client.get("/api/v1/imports/").json()
    # the job and its failed rows (the user's permissions are cached from the list)
    with django_assert_num_queries(2):
        detail = api_client.get(f"/api/v1/imports/{jobs[0].pk}/").json()

    assert listed["count"] == 5
    assert len(detail["row_errors"]) == 10


def test_an_import_writes_the_derived_figures_refresh_derived_would(tmp_path):
    """Imports and the model share one SQL definition of the derived columns; the figures agree row for row."""
    for lon, lat in ((42.44, 33.79), (44.0, 36.2), (40.9, 35.3), (44.36, 33.31)):
        BaseFactory(location=Point(lon, lat, srid=4326))
    path = write_acled_csv(tmp_path / "acled.csv", acled_rows(60))
    job = run(path.read_bytes(), "acled", name="acled.csv")
    assert job.status == ImportJob.Status.DONE, job.error

    columns = ("casualties_best", "fatalities_best", "nearest_base_id", "nearest_base_km")
    imported = dict((row[0], row[1:]) for row in Incident.objects.values_list("pk", *columns))
    assert len(imported) == 60
    assert any(row[1] for row in imported.values())  # some killed
    assert all(row[2] for row in imported.values())  # every row located
    for incident in Incident.objects.all():
        incident.refresh_derived()
    assert dict((row[0], row[1:]) for row in Incident.objects.values_list("pk", *columns)) == imported


def test_an_import_writes_the_sides_and_names_the_involvements_trigger_would():
    """A new incident's sides and actor names are written by its INSERT, a changed one's by the involvements'
    trigger; both read events_incident_sides_of(), and a refresh from scratch changes none of them."""
    from django.db import connection

    from posture.models import Side

    iran = Side.objects.create(name="Iran and aligned groups", slug="iran-and-aligned")
    us = Side.objects.create(name="United States and partners", slug="us-and-partners")
    ActorFactory(name="Kataib Hezbollah", slug="kh", side=iran)
    ActorFactory(name="Military Forces of the United States (2021-)", slug="us-forces", side=us)
    rows = acled_rows(60)
    assert run(write_acled_csv_bytes(rows), "acled").counts() == {
        "created": 60, "updated": 0, "unchanged": 0, "failed": 0
    }  # fmt: skip
    for row in rows[:20]:  # other actors: the changed rows' involvements are replaced
        row["actor1"], row["actor2"] = row["actor2"] or "Kataib Hezbollah", row["actor1"]
    assert run(write_acled_csv_bytes(rows), "acled").counts() == {
        "created": 0, "updated": 20, "unchanged": 40, "failed": 0
    }  # fmt: skip

    columns = ("attacking_sides", "targeted_sides", "attacker_names", "target_names", "claimant_names")
    imported = {row[0]: row[1:] for row in Incident.objects.values_list("pk", *columns)}
    expected = {}
    for incident in Incident.objects.prefetch_related("involvements__actor__side"):
        by_role = {role: [v.actor for v in incident.involvements.all() if v.role == role] for role in Involvement.Role}
        expected[incident.pk] = (
            sorted({a.side_key for a in by_role["attacker"] + by_role["claimed_by"]}),
            sorted({a.side_key for a in by_role["target"]}),
            *(sorted(a.name for a in by_role[role]) for role in ("attacker", "target", "claimed_by")),
        )
    assert imported == expected
    assert any("iran-and-aligned" in sides[0] for sides in imported.values())
    assert any("us-and-partners" in sides[1] for sides in imported.values())
    assert any(sides[0] and sides[0][0].startswith("actor:") for sides in imported.values())
    assert any(not sides[1] for sides in imported.values())  # no target

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_incident SET attacking_sides = '{}', targeted_sides = '{}', attacker_names = '{}',"
            " target_names = '{}', claimant_names = '{}'"
        )
        cursor.execute("SELECT events_incident_sides_refresh(ARRAY(SELECT id FROM events_incident))")
    assert {row[0]: row[1:] for row in Incident.objects.values_list("pk", *columns)} == imported


def test_the_command_gives_up_waiting_for_a_job_that_makes_no_progress_and_says_which(tmp_path):
    """--wait has a deadline: a job nobody takes (here no worker, and the queueing waits for a commit that a
    test's transaction never makes) ends the wait after --stall-timeout with exit status 3, the job left queued."""
    path = write_acled_csv(tmp_path / "acled.csv", acled_rows(3))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as gave_up:
        call_command("import_incidents", str(path), "--wait", "--stall-timeout", "0.3", stdout=out, stderr=err)
    job = ImportJob.objects.get()
    assert gave_up.value.returncode == 3
    assert str(gave_up.value) == (
        f"Gave up waiting for import #{job.pk}: no progress in 0.3 s, queued at the last look. "
        "The job goes on; its page in the admin shows it."
    )
    assert out.getvalue().splitlines()[0] == f"Import #{job.pk} of acled.csv (ACLED CSV export) is queued."
    assert out.getvalue().splitlines()[1:] == [job.summary()]  # its progress, printed once
    assert job.status == ImportJob.Status.QUEUED

    with pytest.raises(CommandError, match="--stall-timeout must be a positive number of seconds"):
        call_command("import_incidents", str(path), "--wait", "--stall-timeout", "0", stdout=out)
    assert ImportJob.objects.count() == 1  # refused before anything was queued
