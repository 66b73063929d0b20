"""Files as real exports have them: ACLED re-saved by a spreadsheet (two-digit years, 2.0), UCDP GED (HDX's
hashtag row, line breaks and doubled quotes in quoted fields, the Syria release without iso3), and a header
that is none of the formats. Our own fixtures are in tests/data/; the real files of ../shared/data/real/ are
imported whole at the end, when that folder is there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from events import imports as importing
from events.models import Casualty, DatePrecision, GeoPrecision, ImportJob, Incident, Kind

from .celery_worker import wait_for_job

DATA = Path(__file__).parent / "data"
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
ACLED_SPREADSHEET = DATA / "acled-spreadsheet.csv"
UCDP_EXCERPT = DATA / "ucdp-ged-excerpt.csv"
UCDP_SYRIA_STYLE = DATA / "ucdp-ged-syria-style.csv"


def run(path: Path, fmt: str | None = None, **fields) -> ImportJob:
    """The import as the worker runs it, in this process."""
    with path.open("rb") as f:
        fmt = fmt or importing.detect_format(path.name, f.read(4096))
        job = ImportJob.objects.create(file=File(f, name=path.name), format=fmt, **fields)
    importing.run_import(job.pk)
    job.refresh_from_db()
    return job


def dates() -> dict[str, dt.date]:
    return dict(Incident.objects.values_list("external_id", "occurred_on"))


@pytest.mark.django_db
class TestAcledAsSpreadsheetsSaveIt:
    def test_every_date_form_and_number_form_is_read_and_the_rest_refused_with_what_was_read(self):
        job = run(ACLED_SPREADSHEET)

        assert job.format == "acled"
        assert (job.rows_total, job.rows_done) == (9, 9)  # 10 lines: a note holds a line break
        assert job.counts() == {"created": 6, "updated": 0, "unchanged": 0, "failed": 3}
        assert dates() == {
            "SYR90001": dt.date(2020, 5, 9),  # 9-May-20, the century from the year column
            "SYR90002": dt.date(2020, 4, 30),  # 30-Apr-20
            "IRQ90003": dt.date(2020, 5, 9),  # 09 May 2020
            "IRQ90004": dt.date(2020, 5, 1),  # 2020-05-01
            "IRQ90005": dt.date(2020, 5, 1),  # 1 May 20
            "IRQ90006": dt.date(2020, 9, 28),  # 28-September-20
        }
        assert [(e.row, e.external_id, e.reason) for e in job.row_errors.all()] == [
            (8, "IRQ90007", "event_date: '5/9/2020' is not a date (day/month or month/day cannot be told apart)"),
            (9, "IRQ90008", "event_date: '1-May-19' has the two-digit year 19, but the row's year is 2020"),
            (10, "IRQ90009", "fatalities: '2.5' is not a whole number"),
        ]
        # 2.0, 3.0, 1589243119.0: whole numbers as a spreadsheet writes them.
        strike = Incident.objects.get(external_id="SYR90001")
        assert (strike.geo_precision, strike.country, strike.kind) == (GeoPrecision.NEAR, "SYR", Kind.AIR_STRIKE)
        assert 'described as "an Iranian depot"' in strike.summary
        assert Incident.objects.get(external_id="SYR90002").fatalities_best == 3
        assert Incident.objects.get(external_id="IRQ90004").summary.startswith(
            "On 1 May 2020, an IED struck a patrol.\n"
        )
        assert Incident.objects.get(external_id="IRQ90005").date_precision == DatePrecision.WEEK

        assert run(ACLED_SPREADSHEET).counts() == {"created": 0, "updated": 0, "unchanged": 6, "failed": 3}

    @pytest.mark.parametrize(
        ("row", "reason"),
        [
            ({"event_date": "1-May-20"}, "event_date: '1-May-20' has a two-digit year, and no year column says which"),
            ({"event_date": "0020-05-01"}, "event_date: '0020-05-01' was read as 0020-05-01, before 1900-01-01"),
            ({"event_date": "1-May-20", "year": "20"}, "event_date: '1-May-20' was read as 0020-05-01, before 1900"),
            ({"event_date": "2999-01-01"}, "event_date: '2999-01-01' was read as 2999-01-01, after tomorrow"),
            ({"event_date": "31-Apr-2020"}, "event_date: '31-Apr-2020' is not a date (read as year 2020, month 4"),
            ({"event_date": "9-Mai-20", "year": "2020"}, "event_date: '9-Mai-20': 'Mai' is not a month name"),
        ],
        ids=["two-digit-year-alone", "year-20", "year-column-20", "far-future", "no-31-april", "not-english"],
    )
    def test_a_date_that_cannot_be_read_for_certain_is_a_row_error(self, row, reason):
        record = {"event_id_cnty": "IRQ1", "event_type": "Battles", "sub_event_type": "Armed clash",
                  "latitude": "33.3", "longitude": "44.4", **row}  # fmt: skip
        problem = importing.parse_acled(record, 2)

        assert isinstance(problem, importing.RowProblem)
        assert problem.reason.startswith(reason)
        assert not Incident.objects.exists()


@pytest.mark.django_db
def test_the_syria_release_without_iso3_and_without_a_hashtag_row_imports():
    job = run(UCDP_SYRIA_STYLE)

    assert job.format == "ucdp"
    assert job.counts() == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0}
    assert dict(Incident.objects.values_list("external_id", "country")) == {"910001": "SYR", "910002": "SYR"}
    assert dict(Incident.objects.values_list("external_id", "kind")) == {
        "910001": Kind.ROCKET_ATTACK,
        "910002": Kind.IED,
    }


FOREIGN = b"date,place,killed\n2020-05-09,Baghdad,3\n"
NAMED = ["event_id_cnty", "date_start", "where_prec", "kind, title"]


@pytest.mark.django_db
class TestAHeaderOfNoKnownFormat:
    """Refused at once, where the file is given, naming the columns each format has; no job is created."""

    def test_the_api_answers_400_on_the_file(self, editor_api):
        response = editor_api.post(
            "/api/v1/imports/", {"file": SimpleUploadedFile("events.csv", FOREIGN)}, format="multipart"
        )

        assert response.status_code == 400
        message = " ".join(response.json()["errors"]["file"])
        assert all(name in message for name in NAMED), message
        assert "This file's columns: date, place, killed." in message
        assert not ImportJob.objects.exists()

    def test_the_admin_shows_a_form_error(self, client, editor):
        client.force_login(editor)

        response = client.post("/admin/events/importjob/add/", {"file": SimpleUploadedFile("events.csv", FOREIGN)})

        assert response.status_code == 200
        page = response.content.decode()
        assert "Cannot be imported: Missing column(s)" in page
        assert all(name in page for name in NAMED)
        assert not ImportJob.objects.exists()

    def test_the_command_stops_with_the_reason(self, tmp_path):
        path = tmp_path / "events.csv"
        path.write_bytes(FOREIGN)

        with pytest.raises(CommandError, match="Cannot be imported: Missing column.*event_id_cnty.*date_start"):
            call_command("import_incidents", str(path), stdout=io.StringIO())
        assert not ImportJob.objects.exists()

    def test_a_format_given_by_name_still_names_its_columns(self, editor_api):
        response = editor_api.post(
            "/api/v1/imports/",
            {"file": SimpleUploadedFile("events.csv", FOREIGN), "format": "ucdp"},
            format="multipart",
        )

        assert response.status_code == 400
        message = " ".join(response.json()["errors"]["file"])
        assert message.startswith("Cannot be imported as UCDP GED CSV (Georeferenced Event Dataset): Missing column")
        assert "A UCDP GED CSV has the columns id, date_start, date_prec" in message


# (external id) -> date, date precision, geo precision, a point or not, kind, killed by group, title
UCDP_EXPECTED = {
    "900001": ("2017-03-05", DatePrecision.DAY, GeoPrecision.EXACT, True, Kind.ARMED_CLASH,
               {"partner_forces": 2, "militia": 5}, 'Armed clash in Tal Qasab village, Iraq'),
    "900002": ("2017-04-10", DatePrecision.WEEK, GeoPrecision.NEAR, True, Kind.IED,
               {"civilians": 12, "other": 1}, "IED / roadside bomb near Al-Suq market, Iraq"),
    "900003": ("2016-10-03", DatePrecision.WEEK, GeoPrecision.REGION, True, Kind.AIR_STRIKE,
               {"militia": 4}, "Air strike in Hawija district, Iraq"),
    "900004": ("2003-02-01", DatePrecision.MONTH, GeoPrecision.REGION, True, Kind.ARMED_CLASH,
               {"militia": 5}, "Armed clash in Sulaymaniyah governorate, Iraq"),
    "900005": ("2016-01-01", DatePrecision.YEAR, GeoPrecision.NEAR, True, Kind.UNKNOWN,
               {"other": 6}, "State-based violence near Road from Baiji to Tikrit, Iraq"),
    "900006": ("2008-06-01", DatePrecision.DAY, GeoPrecision.REGION, False, Kind.UNKNOWN,
               {"civilians": 3}, "One-sided violence in Iraq"),
    "900007": ("2011-08-20", DatePrecision.DAY, GeoPrecision.REGION, False, Kind.DRONE_STRIKE,
               {"militia": 2}, "Drone strike in Border airspace, Iraq"),
    "900008": ("2019-12-29", DatePrecision.DAY, GeoPrecision.EXACT, True, Kind.AIR_STRIKE,
               {"militia": 25}, "Air strike in Al-Qaim, Iraq"),
}  # fmt: skip
UCDP_BEST = {"900001": 7, "900002": 13, "900003": 4, "900004": 5, "900005": 6, "900006": 3, "900007": 2, "900008": 25}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_ucdp_file_imports_through_the_worker_and_a_second_import_changes_nothing(celery_worker, editor_api, client):
    with UCDP_EXCERPT.open("rb") as f:
        response = editor_api.post("/api/v1/imports/", {"file": f}, format="multipart")
    assert response.status_code == 202, response.content
    assert response.json()["format"] == "ucdp"

    job = wait_for_job(response.json()["id"])

    # 12 lines: the HDX hashtag row is no event, and a headline holds a line break (twice, with the article).
    assert (job.status, job.rows_total, job.rows_done) == (ImportJob.Status.DONE, 8, 8)
    assert job.counts() == {"created": 8, "updated": 0, "unchanged": 0, "failed": 0}
    imported = {i.external_id: i for i in Incident.objects.filter(dataset="ucdp-ged")}
    assert imported.keys() == UCDP_EXPECTED.keys()
    for external_id, (day, date_precision, geo_precision, located, kind, killed, title) in UCDP_EXPECTED.items():
        incident = imported[external_id]
        got = (incident.occurred_on.isoformat(), incident.date_precision, incident.geo_precision,
               incident.location is not None, incident.kind, incident.title)  # fmt: skip
        assert got == (day, date_precision, geo_precision, located, kind, title), external_id
        figures = {c.group: c.best for c in incident.casualties.all()}
        assert figures == killed, external_id
        assert set(incident.casualties.values_list("kind", flat=True)) == {Casualty.Kind.KILLED}
        assert incident.fatalities_best == UCDP_BEST[external_id]
        assert incident.status == Incident.Status.PUBLISHED
    # Side A attacks, side B is the target; a side of several governments is several actors.
    coalition = imported["900003"].involvements.filter(role="attacker").values_list("actor__name", flat=True)
    assert sorted(coalition) == ["Government of Australia", "Government of United Kingdom",
                                 "Government of United States of America"]  # fmt: skip
    assert list(imported["900002"].involvements.values_list("role", "actor__name")) == [
        ("attacker", "IS"),
        ("target", "Civilians"),
    ]
    # Two armed groups' dead in one group, each part named; the estimates (low > best here, as UCDP has it)
    # and the source are in the summary.
    assert imported["900004"].casualties.get().note == (
        "UCDP deaths_a, side A (Ansar al-Islam): 3; deaths_b, side B (PUK): 2"
    )
    assert "Deaths (all parties): best 25, low 27, high 24." in imported["900008"].summary
    assert "2017-04-10 to 2017-04-14" in imported["900002"].summary
    assert imported["900002"].summary.startswith("Car bomb kills shoppers\nin a crowded market")
    assert "Source cited by UCDP: Fictional Wire, 2017-03-06." in imported["900001"].summary
    assert 'near "Tal Qasab"' in imported["900001"].summary
    # The timeline counts what the file counts.
    buckets = client.get("/api/v1/timeline/", {"bucket": "month"}).json()["buckets"]
    assert sum(b["fatalities"] for b in buckets) == sum(UCDP_BEST.values())
    assert sum(b["total"] for b in buckets) == 8

    history = Incident.history.count()
    out = io.StringIO()
    call_command("import_incidents", str(UCDP_EXCERPT), "--wait", stdout=out)

    again = ImportJob.objects.latest("id")
    assert (again.format, again.via) == ("ucdp", "command")
    assert again.counts() == {"created": 0, "updated": 0, "unchanged": 8, "failed": 0}
    assert Incident.history.count() == history
    assert Incident.objects.count() == 8


def real_file(name: str) -> Path:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"{path} is not there: the real files are read from ../shared/data/real/, never copied here")
    return path


def expected_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return [row for row in csv.DictReader(f) if not (row.get("year") or "").startswith("#")]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["ucdp-ged-iraq-1989-2018.csv", "ucdp-ged-syria-2016-2019.csv"])
def test_a_real_ucdp_file_imports_every_event_with_its_date_and_deaths(name):
    path = real_file(name)
    rows = expected_rows(path)

    job = run(path)

    assert job.format == "ucdp"
    assert job.counts() == {"created": len(rows), "updated": 0, "unchanged": 0, "failed": 0}
    assert job.rows_total == len(rows)
    imported = {
        external_id: (day, fatalities)
        for external_id, day, fatalities in Incident.objects.values_list(
            "external_id", "occurred_on", "fatalities_best"
        )
    }
    assert imported == {row["id"]: (dt.date.fromisoformat(row["date_start"]), int(row["best"])) for row in rows}
    assert Incident.objects.aggregate(n=Sum("fatalities_best"))["n"] == sum(int(row["best"]) for row in rows)
    assert run(path).counts() == {"created": 0, "updated": 0, "unchanged": len(rows), "failed": 0}


@pytest.mark.django_db
def test_the_real_acled_export_imports_every_event_with_its_true_date():
    path = real_file("acled-iraq-syria-2020-04-27-to-05-09.csv")
    rows = expected_rows(path)

    job = run(path)

    assert job.counts() == {"created": len(rows), "updated": 0, "unchanged": 0, "failed": 0}
    imported = dict(Incident.objects.values_list("external_id", "occurred_on"))
    expected = {row["event_id_cnty"]: dt.datetime.strptime(row["event_date"], "%d-%b-%y").date() for row in rows}
    assert imported == expected
    assert min(imported.values()) == dt.date(2020, 4, 27)
    assert max(imported.values()) == dt.date(2020, 5, 9)
    fatalities = Incident.objects.aggregate(n=Sum("fatalities_best"))["n"]
    assert fatalities == sum(int(float(row["fatalities"])) for row in rows)
    assert run(path).counts() == {"created": 0, "updated": 0, "unchanged": len(rows), "failed": 0}


@pytest.mark.django_db
def test_a_date_known_only_to_its_year_is_shown_as_the_year(client):
    run(UCDP_EXCERPT)
    incident = Incident.objects.get(dataset="ucdp-ged", external_id="900005")

    properties = client.get(f"/api/v1/incidents/{incident.pk}/").json()["properties"]

    assert (properties["occurred_on"], properties["date_precision"], properties["date_label"]) == (
        "2016-01-01",
        "year",
        "2016",
    )
