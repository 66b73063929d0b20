"""Imports run by a real Celery worker: exact counts, a kill -9 mid-import, re-imports, bad rows.

The worker (tests/celery_worker.py) works on the test database, so these tests commit (transaction=True).
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Sum

from events.models import Casualty, ImportJob, Incident, Involvement
from posture.models import Actor

from .acled_rows import acled_rows, write_acled_csv
from .celery_worker import wait_for_job, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROWS = 10_000
PAUSE_AT = 2_000  # four of the test worker's 500-row chunks


@pytest.fixture(scope="module")
def acled_file(tmp_path_factory):
    rows = acled_rows(ROWS)
    return write_acled_csv(tmp_path_factory.mktemp("acled") / "acled-10000.csv", rows), rows


def upload(client, path, **fields):
    with open(path, "rb") as f:
        return client.post("/api/v1/imports/", {"file": f, **fields}, format="multipart")


def test_an_import_of_10000_acled_rows_has_exactly_the_right_counts(
    celery_worker, editor_api, editor, ayn_al_asad, acled_file
):
    path, rows = acled_file

    response = upload(editor_api, path)

    assert response.status_code == 202, response.content
    assert response["Location"].endswith(f"/api/v1/imports/{response.json()['id']}/")
    job = wait_for_job(response.json()["id"])
    assert (job.status, job.rows_total, job.rows_done) == (ImportJob.Status.DONE, ROWS, ROWS)
    assert job.counts() == {"created": ROWS, "updated": 0, "unchanged": 0, "failed": 0}
    imported = Incident.objects.filter(dataset="acled")
    assert imported.count() == ROWS
    assert imported.values("external_id").distinct().count() == ROWS
    assert imported.filter(status=Incident.Status.PUBLISHED, created_by=editor).count() == ROWS
    # Actors matched by name (or created once), two roles per row, and the derived figures in place.
    assert Actor.objects.filter(name="Kataib Hezbollah").count() == 1
    expected_involvements = sum(1 + bool(r["assoc_actor_1"]) + bool(r["actor2"]) for r in rows)
    assert Involvement.objects.filter(incident__dataset="acled").count() == expected_involvements
    assert imported.aggregate(total=Sum("fatalities_best"))["total"] == sum(int(r["fatalities"]) for r in rows)
    assert imported.filter(nearest_base=ayn_al_asad, nearest_base_km__gt=0).count() == ROWS
    # Every row has its history record, by the uploader.
    assert Incident.history.filter(history_type="+", history_user=editor).count() == ROWS
    # The progress is visible in the API.
    detail = editor_api.get(f"/api/v1/imports/{job.pk}/").json()
    assert (detail["status"], detail["rows_done"], detail["rows_total"], detail["percent"]) == ("done", ROWS, ROWS, 100)
    assert detail["counts"] == {"created": ROWS, "updated": 0, "unchanged": 0, "failed": 0}
    assert detail["row_errors"] == []

    # The same file again, from the command line: nothing changes, and the counts say so.
    out = io.StringIO()
    call_command("import_incidents", str(path), "--wait", stdout=out)

    again = ImportJob.objects.latest("id")
    assert again.counts() == {"created": 0, "updated": 0, "unchanged": ROWS, "failed": 0}
    assert f"{ROWS:,} of {ROWS:,} rows (100%)" in out.getvalue()
    assert imported.count() == ROWS
    assert Incident.history.count() == ROWS


def test_kill_9_of_the_worker_mid_import_then_a_restart_leaves_every_row_exactly_once(
    celery_worker, editor_api, ayn_al_asad, acled_file
):
    path, rows = acled_file
    # A worker that sleeps once PAUSE_AT rows have committed: the kill lands between two chunks for certain.
    celery_worker.stop()
    celery_worker.env = {**celery_worker.env, "IMPORT_TEST_PAUSE_AT_ROW": str(PAUSE_AT)}
    celery_worker.start()
    try:
        job_id = upload(editor_api, path).json()["id"]
        wait_until(lambda: ImportJob.objects.get(pk=job_id).rows_done >= PAUSE_AT, "the import to reach its pause")
    finally:
        # Kill the whole worker (main process and pool), mid-import; the next one pauses nowhere.
        celery_worker.kill()
        del celery_worker.env["IMPORT_TEST_PAUSE_AT_ROW"]
    part_way = ImportJob.objects.get(pk=job_id)
    written = Incident.objects.filter(dataset="acled").count()
    # Redis hands the unacknowledged task to the next worker once its visibility timeout has passed.
    celery_worker.start()

    assert part_way.status == ImportJob.Status.RUNNING
    assert part_way.rows_done == part_way.created_count == written == PAUSE_AT
    job = wait_for_job(job_id)

    assert job.status == ImportJob.Status.DONE
    assert (job.rows_done, job.created_count, job.failed_count) == (ROWS, ROWS, 0)
    imported = Incident.objects.filter(dataset="acled")
    assert imported.count() == ROWS
    duplicates = imported.values("external_id").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicates.exists()
    assert Incident.history.filter(history_type="+").count() == ROWS
    expected_casualties = sum(1 for r in rows if r["fatalities"] != "0")
    assert Casualty.objects.filter(incident__dataset="acled").count() == expected_casualties


def test_a_changed_row_is_updated_with_history_and_the_rest_left_alone(celery_worker, editor_api, tmp_path):
    rows = acled_rows(20, seed=11)
    first = wait_for_job(upload(editor_api, write_acled_csv(tmp_path / "a.csv", rows)).json()["id"])
    assert first.counts()["created"] == 20
    rows[3] = {**rows[3], "notes": "Corrected: two rockets, not ten.", "fatalities": "3", "timestamp": "1700000000"}

    job = wait_for_job(upload(editor_api, write_acled_csv(tmp_path / "b.csv", rows)).json()["id"])

    assert job.counts() == {"created": 0, "updated": 1, "unchanged": 19, "failed": 0}
    changed = Incident.objects.get(dataset="acled", external_id=rows[3]["event_id_cnty"])
    assert changed.summary.startswith("Corrected: two rockets, not ten.")
    assert changed.fatalities_best == 3
    assert [h.history_type for h in changed.history.order_by("history_id")] == ["+", "~"]
    assert changed.history.latest().history_change_reason == f"Import #{job.pk}"
    assert Incident.history.filter(history_type="~").count() == 1


def test_bad_rows_are_listed_with_row_external_id_and_reason_and_the_good_rows_land(
    celery_worker, editor, tmp_path, client
):
    rows = acled_rows(8, seed=3)
    rows[1]["event_date"] = "2021-02-30"
    rows[2]["latitude"] = "95.5"
    rows[3]["event_type"] = "Picnic"
    rows[4]["event_id_cnty"] = ""
    rows[5]["event_id_cnty"] = rows[0]["event_id_cnty"]  # the same event twice in one file
    path = write_acled_csv(tmp_path / "bad.csv", rows)
    client.force_login(editor)

    # Uploaded in the admin, where the editor then follows it.
    with open(path, "rb") as f:
        response = client.post("/admin/events/importjob/add/", {"file": f, "format": "", "dataset": ""})
    assert response.status_code == 302
    job = wait_for_job(ImportJob.objects.latest("id").pk)

    assert (job.status, job.via, job.created_by) == (ImportJob.Status.DONE, "admin", editor)
    assert job.counts() == {"created": 3, "updated": 0, "unchanged": 0, "failed": 5}
    errors = [(e.row, e.external_id, e.reason) for e in job.row_errors.all()]
    assert errors == [
        (3, rows[1]["event_id_cnty"], "event_date: '2021-02-30' is not a date (read as year 2021, month 2, day 30)"),
        (4, rows[2]["event_id_cnty"], "latitude: 95.5 is outside -90..90"),
        (5, rows[3]["event_id_cnty"], "event_type: 'Picnic' is not an ACLED event type"),
        (6, "", "event_id_cnty: missing"),
        (7, rows[0]["event_id_cnty"], "external id already on row 2 of this file"),
    ]
    good = {rows[i]["event_id_cnty"] for i in (0, 6, 7)}
    assert set(Incident.objects.values_list("external_id", flat=True)) == good
    page = client.get(f"/admin/events/importjob/{job.pk}/change/").content.decode()
    assert "8 of 8 rows (100%)" in page
    assert "is not an ACLED event type" in page
    report = client.get(f"/admin/events/importjob/{job.pk}/errors.csv").content.decode()
    assert report.splitlines()[0] == "row,external_id,reason"
    assert len(report.splitlines()) == 6

    # The command line says so in its exit status.
    err = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("import_incidents", str(path), "--wait", stdout=io.StringIO(), stderr=err)
    assert failed.value.returncode == 1
    assert "5 row(s) of import" in str(failed.value)
    assert f"row 5 ({rows[3]['event_id_cnty']}): event_type: 'Picnic' is not an ACLED event type" in err.getvalue()


def test_a_row_naming_an_unknown_base_is_listed_and_the_others_land_with_their_base(
    celery_worker, editor_api, ayn_al_asad, tmp_path
):
    def feature(external_id: str, base_name: str) -> dict:
        properties = {"dataset": "ours", "external_id": external_id, "occurred_on": "2021-03-03",
                      "kind": "rocket_attack", "title": f"Rockets {external_id}", "base_name": base_name}  # fmt: skip
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [42.4, 33.8]}, "properties": properties}

    names = {"A1": "Ayn al-Asad", "A2": "Tower 22", "A3": "AYN-AL-ASAD", "A4": ""}
    path = tmp_path / "bases.geojson"
    features = [feature(external_id, name) for external_id, name in names.items()]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    job = wait_for_job(upload(editor_api, path).json()["id"])

    assert job.counts() == {"created": 3, "updated": 0, "unchanged": 0, "failed": 1}
    assert [(e.row, e.external_id, e.reason) for e in job.row_errors.all()] == [
        (2, "A2", 'base_name: unknown base "Tower 22" (no base has this slug or name)'),
    ]
    # By name or by slug, whatever the case; a row naming no base targets none.
    assert dict(Incident.objects.values_list("external_id", "base")) == {
        "A1": ayn_al_asad.pk,
        "A3": ayn_al_asad.pk,
        "A4": None,
    }
    detail = editor_api.get(f"/api/v1/imports/{job.pk}/").json()
    assert detail["row_errors"] == [
        {"row": 2, "external_id": "A2", "reason": 'base_name: unknown base "Tower 22" (no base has this slug or name)'}
    ]
