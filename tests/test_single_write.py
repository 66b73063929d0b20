"""An editor's save writes the incident's row once, and so does an import, new or changed: its actors, casualties
and sources first, then one INSERT or UPDATE computing its sides, actors' names, casualty totals and nearest base
in the same statement, so that no trigger rewrites it. Counted by PostgreSQL (pg_stat_xact_user_tables: the rows
the transaction inserted and updated in events_incident, whoever wrote them, triggers included) and by Django."""

import datetime as dt
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.actions import IncidentRelations, update_incident
from events.imports import ImportContext, import_incidents
from events.imports import bulk as bulk_import
from events.imports.records import ParsedIncident
from events.models import Incident, Involvement
from posture.models import Base, Side

from .bodies import admin_incident_form, incident_feature
from .factories import ActorFactory, BaseFactory, CasualtyFactory, IncidentFactory, InvolvementFactory, SourceFactory

pytestmark = pytest.mark.django_db

WRITE = re.compile(r'\s*(INSERT\s+INTO|UPDATE)\s+"?events_incident"?\s', re.IGNORECASE)

DERIVED = [
    "attacking_sides",
    "targeted_sides",
    "attacker_names",
    "target_names",
    "claimant_names",
    "casualties_best",
    "fatalities_best",
    "nearest_base_id",
    "nearest_base_km",
]


@dataclass
class Writes:
    inserted: int = 0
    updated: int = 0
    statements: list[str] = field(default_factory=list)  # Django's statements that write events_incident

    @property
    def verbs(self) -> list[str]:
        return [statement.split()[0].upper() for statement in self.statements]


def _counts() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables WHERE relid = 'events_incident'::regclass"
        )
        return cursor.fetchone()


@contextmanager
def incident_row_writes():
    """The incident rows written inside the block: by its statements and by the triggers they set off."""
    writes = Writes()
    inserted, updated = _counts()
    with CaptureQueriesContext(connection) as captured:
        yield writes
    now_inserted, now_updated = _counts()
    writes.inserted, writes.updated = now_inserted - inserted, now_updated - updated
    writes.statements = [query["sql"] for query in captured.captured_queries if WRITE.match(query["sql"] or "")]


def derived(incident_id: int) -> dict:
    return Incident.objects.filter(pk=incident_id).values(*DERIVED).get()


def nothing_left_to_derive(incident_id: int) -> None:
    """The triggers' refresh and Incident.refresh_derived() computed from scratch find the row as it is."""
    before = derived(incident_id)
    inserted, updated = _counts()
    with connection.cursor() as cursor:
        cursor.execute("SELECT events_incident_sides_refresh(ARRAY[%s]::bigint[])", [incident_id])
    assert _counts() == (inserted, updated)  # it rewrites only rows whose sides differ
    incident = Incident.objects.get(pk=incident_id)
    incident.refresh_derived()
    assert derived(incident_id) == before


@pytest.fixture
def world():
    iran = Side.objects.create(name="Iran and aligned groups", slug="iran-and-aligned")
    us = Side.objects.create(name="United States and partners", slug="us-and-partners")
    militia = ActorFactory(slug="kataib-hezbollah", name="Kata'ib Hezbollah", side=iran)
    front = ActorFactory(slug="saraya", name="Saraya Awliya al-Dam", side=iran)
    america = ActorFactory(slug="united-states", name="United States", side=us)
    BaseFactory(name="Far away", location=Point(47.0, 30.5, srid=4326))
    asad = BaseFactory(name="Ayn al-Asad", location=Point(42.4412, 33.7856, srid=4326))
    return militia, front, america, asad


def expected(asad, *, casualties: int, attackers: list[str], claimants: list[str] = ()) -> dict:
    return {
        "attacking_sides": ["iran-and-aligned"],
        "targeted_sides": ["us-and-partners"],
        "attacker_names": attackers,
        "target_names": ["United States"],
        "claimant_names": list(claimants),
        "casualties_best": casualties,
        "fatalities_best": casualties,
        "nearest_base_id": asad.pk,
        "nearest_base_km": 0.0,
    }


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def inline(data: dict, prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data |= {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(initial)}
    for n, row in enumerate(rows):
        data |= {f"{prefix}-{n}-{name}": str(value) for name, value in row.items()}
    return data


def existing(militia, casualties: int = 1) -> Incident:
    """A published attack by the militia alone, its row as the triggers and refresh_derived() left it."""
    incident = IncidentFactory(title="Rockets at Asad")
    InvolvementFactory(incident=incident, actor=militia, role=Involvement.Role.ATTACKER)
    CasualtyFactory(incident=incident, best=casualties)
    incident.refresh_derived()
    return incident


def test_an_admin_add_writes_the_row_once(editor_client, editor, world):
    militia, front, america, asad = world
    data = admin_incident_form(SourceFactory())
    data = inline(data, "involvements", [{"actor": militia.pk, "role": "attacker"}, {"actor": america.pk,
                                          "role": "target"}, {"actor": front.pk, "role": "claimed_by"}])  # fmt: skip
    data = inline(data, "casualties", [{"group": "us_contractor", "kind": "killed", "best": 2}])

    with incident_row_writes() as writes:
        response = editor_client.post(reverse("admin:events_incident_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    incident = Incident.objects.get()
    assert (writes.inserted, writes.updated) == (1, 0)
    assert writes.verbs == ["INSERT"]
    assert derived(incident.pk) == expected(
        asad, casualties=2, attackers=["Kata'ib Hezbollah"], claimants=["Saraya Awliya al-Dam"]
    )
    nothing_left_to_derive(incident.pk)
    # One history row, with the figures and the sources the row was written with.
    (created,) = incident.history.all()
    assert (created.history_type, created.history_user, created.casualties_best) == ("+", editor, 2)
    assert created.nearest_base_id == asad.pk
    assert [s.source_id for s in created.sources.all()] == list(incident.sources.values_list("id", flat=True))


def test_an_admin_change_writes_the_row_once(editor_client, editor, world):
    militia, front, america, asad = world
    incident = existing(militia)
    involvement = incident.involvements.get()
    data = admin_incident_form(incident.sources.get(), title="Ten rockets at Ayn al-Asad")
    rows = [{"id": involvement.pk, "incident": incident.pk, "actor": militia.pk, "role": "attacker"},
            {"actor": front.pk, "role": "attacker"}, {"actor": america.pk, "role": "target"}]  # fmt: skip
    data = inline(data, "involvements", rows, initial=1)
    casualty = incident.casualties.get()
    data = inline(data, "casualties", [{"id": casualty.pk, "incident": incident.pk, "group": "us_contractor",
                                        "kind": "killed", "best": 3}], initial=1)  # fmt: skip
    history = incident.history.count()

    with incident_row_writes() as writes:
        response = editor_client.post(reverse("admin:events_incident_change", args=[incident.pk]), data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert (writes.inserted, writes.updated) == (0, 1)
    assert writes.verbs == ["UPDATE"]
    assert derived(incident.pk) == expected(asad, casualties=3, attackers=["Kata'ib Hezbollah", "Saraya Awliya al-Dam"])
    nothing_left_to_derive(incident.pk)
    assert incident.history.count() == history + 1
    latest = incident.history.latest()
    assert (latest.history_type, latest.history_user, latest.title, latest.casualties_best) == (
        "~", editor, "Ten rockets at Ayn al-Asad", 3
    )  # fmt: skip


def test_an_api_post_writes_the_row_once(editor_api, editor, world):
    militia, front, america, asad = world
    actors = [{"role": "attacker", "slug": militia.slug}, {"role": "target", "slug": america.slug},
              {"role": "claimed_by", "slug": front.slug}]  # fmt: skip
    casualties = [{"group": "us_contractor", "kind": "killed", "best": 1}, {"group": "us_military", "kind": "tbi",
                                                                            "low": 0, "high": 3}]  # fmt: skip
    body = incident_feature(SourceFactory(), status="published", actors=actors, casualties=casualties)

    with incident_row_writes() as writes:
        response = editor_api.post("/api/v1/incidents/", body, format="json")

    assert response.status_code == 201, response.content
    incident = Incident.objects.get()
    assert (writes.inserted, writes.updated) == (1, 0)
    assert writes.verbs == ["INSERT"]
    assert derived(incident.pk) == {
        **expected(asad, casualties=1, attackers=["Kata'ib Hezbollah"], claimants=["Saraya Awliya al-Dam"]),
        "casualties_best": 1,  # the TBI range adds its low, 0
    }
    nothing_left_to_derive(incident.pk)
    (created,) = incident.history.all()
    assert (created.history_type, created.history_user, created.casualties_best) == ("+", editor, 1)
    assert created.sources.count() == 1
    assert response.json()["properties"]["attackers"] == ["Kata'ib Hezbollah"]


def test_an_api_patch_writes_the_row_once(editor_api, world):
    militia, front, america, asad = world
    incident = existing(militia)
    actors = [{"role": "attacker", "slug": front.slug}, {"role": "target", "slug": america.slug}]
    casualties = [{"group": "civilians", "kind": "killed", "best": 4}]
    body = {"type": "Feature", "properties": {"title": "Patched", "actors": actors, "casualties": casualties}}

    with incident_row_writes() as writes:
        response = editor_api.patch(f"/api/v1/incidents/{incident.pk}/", body, format="json")

    assert response.status_code == 200, response.content
    assert (writes.inserted, writes.updated) == (0, 1)
    assert writes.verbs == ["UPDATE"]
    assert derived(incident.pk) == expected(asad, casualties=4, attackers=["Saraya Awliya al-Dam"])
    nothing_left_to_derive(incident.pk)


def test_a_patch_that_moves_it_changes_its_nearest_base_in_the_same_write(editor_api, world):
    militia, front, america, asad = world
    incident = existing(militia)
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [47.0, 30.5]}, "properties": {}}

    with incident_row_writes() as writes:
        response = editor_api.patch(f"/api/v1/incidents/{incident.pk}/", body, format="json")

    assert response.status_code == 200, response.content
    assert (writes.inserted, writes.updated) == (0, 1)
    row = derived(incident.pk)
    assert (row["nearest_base_id"], row["nearest_base_km"]) == (Base.objects.get(name="Far away").pk, 0.0)
    nothing_left_to_derive(incident.pk)


def test_after_an_editors_save_the_trigger_follows_its_involvements_again(world):
    militia, front, america, asad = world
    incident = existing(militia)
    update_incident(incident, fields={"title": "Rockets"}, relations=IncidentRelations(actors={"attacker": [militia]}))

    InvolvementFactory(incident=incident, actor=america, role=Involvement.Role.TARGET)

    assert derived(incident.pk)["targeted_sides"] == ["us-and-partners"]


def _sides_of(incident_id: int) -> dict:
    """The five columns as events_incident_sides_of() derives them from the involvements now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attacking, targeted, attackers, targets, claimants FROM events_incident_sides_of(ARRAY[%s])",
            [incident_id],
        )
        return dict(zip(DERIVED[:5], cursor.fetchone(), strict=True))


def _written_next() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('events.incidents_written_next', true)")
        return cursor.fetchone()[0]


MILITIA, FRONT, AMERICA = "Kata'ib Hezbollah", "Saraya Awliya al-Dam", "United States"


def acled(n: int, title: str, actors: tuple, fatalities: int = 0) -> ParsedIncident:
    casualties = (("other", "killed", None, fatalities, None, ""),) if fatalities else ()
    return ParsedIncident(
        row=n, dataset="acled", external_id=f"IRQ{n}", occurred_on=dt.date(2024, 1, n), date_precision=1,
        kind="rocket_attack", title=title, lon=42.4412, lat=33.7856, country="IRQ", actors=actors,
        casualties=casualties,
    )  # fmt: skip


def imported(records: list[ParsedIncident]) -> dict[str, int]:
    import_incidents(records, context=ImportContext.load(user_id=None, reason="ACLED sync", publish=True))
    return dict(Incident.objects.filter(dataset="acled").values_list("external_id", "id"))


def test_a_reimport_of_changed_rows_writes_each_row_once(world):
    militia, front, america, asad = world
    ids = imported([
        acled(1, "Rockets", (("attacker", MILITIA), ("target", AMERICA))),
        acled(2, "Rockets", (("attacker", MILITIA), ("target", AMERICA))),
        acled(3, "Drone", (("attacker", FRONT),)),
        acled(4, "Shelling", (("attacker", MILITIA),)),
    ])  # fmt: skip
    Incident.objects.filter(pk=ids["IRQ4"]).update(
        status="retracted", retracted_reason="deleted by ACLED", retracted_at=timezone.now()
    )
    again = [
        acled(1, "More rockets", (("attacker", MILITIA), ("attacker", FRONT), ("target", AMERICA)), fatalities=2),
        acled(2, "Rockets, again", (("attacker", MILITIA), ("target", AMERICA))),  # same actors
        acled(3, "Drone", (("attacker", MILITIA), ("target", AMERICA), ("claimed_by", FRONT))),
        acled(4, "Shelling", (("attacker", MILITIA),)),  # unchanged, but retracted: restored
    ]

    with incident_row_writes() as writes:
        outcome = import_incidents(again, context=ImportContext.load(user_id=None, reason="sync", publish=True))

    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 4, 0)
    assert (writes.inserted, writes.updated) == (0, 4)
    assert writes.verbs == ["INSERT", "UPDATE"]  # the new rows' INSERT, of none here, and the changed rows'
    rows = {key: derived(pk) for key, pk in ids.items()}
    assert rows["IRQ1"] == expected(asad, casualties=2, attackers=[MILITIA, FRONT])
    assert rows["IRQ2"] == expected(asad, casualties=0, attackers=[MILITIA])
    assert rows["IRQ3"] == expected(asad, casualties=0, attackers=[MILITIA], claimants=[FRONT])
    assert rows["IRQ4"]["attacker_names"] == [MILITIA]
    assert rows["IRQ4"]["attacking_sides"] == ["iran-and-aligned"]
    for pk in ids.values():
        assert {k: v for k, v in derived(pk).items() if k in DERIVED[:5]} == _sides_of(pk)
        nothing_left_to_derive(pk)
    assert Incident.objects.get(pk=ids["IRQ4"]).status == "published"
    assert Incident.objects.get(pk=ids["IRQ2"]).title == "Rockets, again"

    # The import cleared the setting: a later change of its incidents' involvements is followed again.
    assert _written_next() == ""
    InvolvementFactory(incident_id=ids["IRQ4"], actor=america, role=Involvement.Role.TARGET)
    assert derived(ids["IRQ4"])["target_names"] == [AMERICA]


def test_an_import_mixing_new_and_changed_rows_writes_each_row_once(world):
    militia, front, america, asad = world
    ids = imported([acled(1, "Rockets", (("attacker", MILITIA),))])

    with incident_row_writes() as writes:
        ids = imported([
            acled(1, "Rockets", (("attacker", FRONT), ("target", AMERICA))),
            acled(2, "Drone", (("attacker", MILITIA), ("target", AMERICA))),
        ])  # fmt: skip

    assert (writes.inserted, writes.updated) == (1, 1)
    assert derived(ids["IRQ1"]) == expected(asad, casualties=0, attackers=[FRONT])
    assert derived(ids["IRQ2"]) == expected(asad, casualties=0, attackers=[MILITIA])


def test_the_import_leaves_alone_only_its_own_incidents(world, monkeypatch):
    militia, front, america, asad = world
    ids = imported([acled(1, "Rockets", (("attacker", MILITIA),))])
    before, during, after = existing(militia), existing(militia), existing(militia)
    # An incident the import does not stage, its involvements changed in the same transaction: before the
    # import, while the import's exemption is set (between its relations and its UPDATE), and after it.
    InvolvementFactory(incident=before, actor=america, role=Involvement.Role.TARGET)
    update_changed = bulk_import._update_changed

    def meanwhile(cursor):
        assert _written_next() == f"{{{ids['IRQ1']}}}"
        cursor.execute(
            "INSERT INTO events_involvement (incident_id, actor_id, role) VALUES (%s, %s, 'target')",
            [during.pk, america.pk],
        )
        update_changed(cursor)

    monkeypatch.setattr(bulk_import, "_update_changed", meanwhile)
    imported([acled(1, "Rockets", (("attacker", FRONT),))])
    InvolvementFactory(incident=after, actor=america, role=Involvement.Role.TARGET)

    for incident in (before, during, after):
        assert derived(incident.pk)["target_names"] == [AMERICA]
        nothing_left_to_derive(incident.pk)
    assert derived(ids["IRQ1"])["attacker_names"] == [FRONT]


def test_the_trigger_skips_exactly_the_incidents_named(world):
    """Statements touching a named incident and another: only the other is refreshed, for each of INSERT, UPDATE
    and DELETE; with the setting cleared, both are."""
    militia, front, america, asad = world
    named, other = existing(militia), existing(militia)

    def statement(sql: str, setting: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('events.incidents_written_next', %s, true)", [setting])
            cursor.execute(sql, {"named": named.pk, "other": other.pk, "actor": america.pk})

    def names(role: str) -> tuple[list[str], list[str]]:
        return derived(named.pk)[role], derived(other.pk)[role]

    insert = (
        "INSERT INTO events_involvement (incident_id, actor_id, role)"
        " VALUES (%(named)s, %(actor)s, 'target'), (%(other)s, %(actor)s, 'target')"
    )
    statement(insert, f"{{{named.pk},0}}")
    assert names("target_names") == ([], [AMERICA])
    statement("UPDATE events_involvement SET role = 'claimed_by' WHERE actor_id = %(actor)s", f"{{{named.pk}}}")
    assert (names("target_names"), names("claimant_names")) == (([], []), ([], [AMERICA]))
    statement("DELETE FROM events_involvement WHERE actor_id = %(actor)s", f"{{{other.pk}}}")
    assert names("claimant_names") == ([], [AMERICA])  # the other left alone this time
    statement(insert, "")
    assert (names("target_names"), names("claimant_names")) == (([AMERICA], [AMERICA]), ([], []))
    for incident in (named, other):
        nothing_left_to_derive(incident.pk)
