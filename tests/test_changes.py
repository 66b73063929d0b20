"""Public history: an incident's changes (/api/v1/incidents/{id}/history/), the changes feed across the data
(/api/v1/changes/, and as Atom at /feeds/changes.atom) and the datasets' freshness (/api/v1/sources/status/),
over HTTP: what the public sees of drafts, editors, imports and syncs, retractions and restorations."""

import datetime as dt

import feedparser
import pytest
from django.db import connection
from django.utils import timezone

from events.imports.retract import retract_deleted
from events.models import ImportJob, Incident, SyncState

from .bodies import incident_feature
from .factories import IncidentFactory, SourceFactory

pytestmark = pytest.mark.django_db

CHANGES = "/api/v1/changes/"


def history_url(incident) -> str:
    return f"/api/v1/incidents/{incident.pk}/history/"


def save(incident, reason: str | None = None, **fields) -> Incident:
    """Change the incident as a write with `reason` would, one history row."""
    for name, value in fields.items():
        setattr(incident, name, value)
    incident._change_reason = reason
    incident.save()
    return incident


def retract(incident, reason: str, by: str = "ACLED sync #7") -> Incident:
    return save(incident, by, status="retracted", retracted_reason=reason, retracted_at=timezone.now())


def changes(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["changes"]


def kinds(response) -> list[tuple[str, int]]:
    return [(c["change"], c["incident"]) for c in changes(response)]


@pytest.fixture
def published(db):
    return IncidentFactory(title="Ten rockets on Ayn al-Asad", casualties_best=1)


class TestIncidentHistory:
    def test_an_editor_s_post_then_patch_is_published_then_updated_old_to_new(self, editor_api, editor, client):
        source = SourceFactory()
        created = editor_api.post(
            "/api/v1/incidents/", incident_feature(source, status="published"), format="json"
        ).json()
        editor_api.patch(
            f"/api/v1/incidents/{created['id']}/",
            {"properties": {"title": "Twelve rockets on Ayn al-Asad", "munitions": 12}},
            format="json",
        )

        response = client.get(f"/api/v1/incidents/{created['id']}/history/")

        assert response.status_code == 200
        body = response.json()
        assert body["incident"] == created["id"]
        assert body["status"] == "published"
        updated, first = body["changes"]
        assert first["change"] == "published"
        assert first["properties"] == []
        assert first["title"] == "Ten rockets on Ayn al-Asad"
        assert updated["change"] == "updated"
        assert updated["title"] == "Twelve rockets on Ayn al-Asad"
        assert updated["properties"] == [
            {"name": "title", "old": "Ten rockets on Ayn al-Asad", "new": "Twelve rockets on Ayn al-Asad"},
            {"name": "munitions", "old": None, "new": 12},
        ]
        # Who: "editor", never the account; the sources' own history rows are no change of their own.
        assert {(c["by"], c["job"], c["reason"]) for c in body["changes"]} == {("editor", None, None)}
        assert editor.username.encode() not in response.content
        assert dt.datetime.fromisoformat(updated["changed_at"]) >= dt.datetime.fromisoformat(first["changed_at"])

    def test_an_editor_s_reason_for_change_sent_with_the_patch_is_shown_but_not_the_editor(
        self, editor_api, editor, client
    ):
        created = editor_api.post(
            "/api/v1/incidents/", incident_feature(SourceFactory(), status="published"), format="json"
        ).json()
        url = f"/api/v1/incidents/{created['id']}/"
        too_long = editor_api.patch(url, {"properties": {"title": "X"}, "reason": "x" * 101}, format="json")
        # The public history would name the change by that job.
        a_job_s_name = editor_api.patch(url, {"properties": {"title": "X"}, "reason": "ACLED sync #5"}, format="json")
        on_create = editor_api.post(
            "/api/v1/incidents/", {**incident_feature(SourceFactory()), "reason": "CENTCOM's statement"}, format="json"
        )
        editor_api.patch(
            url, {"properties": {"munitions": 12}, "reason": "CENTCOM's statement of 5 March"}, format="json"
        )

        (updated, _) = changes(client.get(history_url(Incident(pk=created["id"]))))

        assert too_long.status_code == 400
        assert list(too_long.json()["errors"]) == ["reason"]
        assert a_job_s_name.status_code == 400
        assert "sync's name" in a_job_s_name.json()["errors"]["reason"][0]
        # A new incident's reason goes on its first history row, as the schema offers it on POST too.
        assert on_create.status_code == 201
        added = Incident.history.filter(id=on_create.json()["id"]).earliest()
        assert added.history_change_reason == "CENTCOM's statement"
        assert (updated["by"], updated["job"], updated["reason"]) == ("editor", None, "CENTCOM's statement of 5 March")
        assert updated["properties"] == [{"name": "munitions", "old": None, "new": 12}]
        assert Incident.history.filter(id=created["id"]).latest().history_user == editor

    def test_an_editor_s_casualty_figures_show_as_the_totals_they_move(self, editor_api, client):
        created = editor_api.post(
            "/api/v1/incidents/", incident_feature(SourceFactory(), status="published"), format="json"
        ).json()
        casualties = [
            {"group": "us_military", "kind": "killed", "best": 2},
            {"group": "civilians", "kind": "wounded", "best": 3},
        ]
        editor_api.patch(
            f"/api/v1/incidents/{created['id']}/", {"properties": {"casualties": casualties}}, format="json"
        )

        updated, _ = changes(client.get(f"/api/v1/incidents/{created['id']}/history/"))

        assert updated["properties"] == [
            {"name": "casualties_best", "old": 0, "new": 5},
            {"name": "fatalities_best", "old": 0, "new": 2},
        ]

    def test_a_draft_s_edits_fold_into_its_publication_and_its_values_never_show(self, client):
        incident = IncidentFactory(status=Incident.Status.DRAFT, title="Unconfirmed: rockets?", weapon="unknown")
        assert client.get(history_url(incident)).status_code == 404
        save(incident, title="Still unconfirmed", summary="A draft's note")
        save(incident, "Confirmed by CENTCOM", status="published", title="Rockets on Ayn al-Asad", weapon="107 mm")

        response = client.get(history_url(incident))

        ((change),) = [changes(response)]
        assert len(change) == 1
        (published,) = change
        assert (published["change"], published["title"], published["properties"]) == (
            "published",
            "Rockets on Ayn al-Asad",
            [],
        )
        assert (published["by"], published["reason"]) == ("editor", "Confirmed by CENTCOM")
        for draft_value in (b"Unconfirmed", b"Still unconfirmed", b"A draft's note", b'"unknown"'):
            assert draft_value not in response.content

    def test_unpublishing_hides_the_history_and_republishing_lists_only_the_published_difference(self, client):
        incident = IncidentFactory(title="A", weapon="rockets")
        save(incident, status="draft", title="B (draft)")
        assert client.get(history_url(incident)).status_code == 404
        save(incident, status="published", title="C")

        (updated, published) = changes(client.get(history_url(incident)))

        assert (published["change"], updated["change"]) == ("published", "updated")
        assert updated["properties"] == [{"name": "title", "old": "A", "new": "C"}]

    def test_imports_and_syncs_are_named_by_their_job(self, client, published):
        save(published, "Import #12", casualties_best=3)
        save(published, "ACLED sync #123", fatalities_best=2, location=None)
        save(published, "UCDP GED 26.0.7 sync #45", weapon="mortars")

        ucdp, sync, file_import, _ = changes(client.get(history_url(published)))

        assert (file_import["by"], file_import["job"], file_import["reason"]) == ("import #12", 12, None)
        assert file_import["properties"] == [{"name": "casualties_best", "old": 1, "new": 3}]
        assert (sync["by"], sync["job"], sync["reason"]) == ("ACLED sync #123", 123, None)
        assert (ucdp["by"], ucdp["job"], ucdp["reason"]) == ("UCDP GED 26.0.7 sync #45", 45, None)
        assert sync["properties"] == [
            {"name": "fatalities_best", "old": 0, "new": 2},
            {"name": "geometry", "old": {"type": "Point", "coordinates": [42.4412, 33.7856]}, "new": None},
        ]

    def test_an_editor_s_reason_that_mentions_a_number_is_still_an_editor_s(self, client, published):
        save(published, "See report #5", title="Corrected")

        (change, _) = changes(client.get(history_url(published)))

        assert (change["by"], change["job"], change["reason"]) == ("editor", None, "See report #5")

    def test_a_re_save_that_changes_nothing_public_is_no_change(self, client, published):
        save(published)
        save(published, "Import #3")

        assert [c["change"] for c in changes(client.get(history_url(published)))] == ["published"]

    def test_retracted_then_restored_with_the_reason_and_the_sync(self, client, published):
        retract(published, "deleted by ACLED on 2026-12-01")
        save(published, "ACLED sync #9", status="published", retracted_reason="", retracted_at=None, title="Back")

        response = client.get(history_url(published))

        restored, retracted, first = changes(response)
        assert (first["change"], retracted["change"], restored["change"]) == ("published", "retracted", "restored")
        assert (retracted["by"], retracted["job"], retracted["reason"]) == (
            "ACLED sync #7",
            7,
            "deleted by ACLED on 2026-12-01",
        )
        assert retracted["properties"] == []
        assert (restored["by"], restored["reason"]) == ("ACLED sync #9", None)
        assert restored["properties"] == [{"name": "title", "old": "Ten rockets on Ayn al-Asad", "new": "Back"}]

    def test_an_acled_deletion_as_the_sync_applies_it_is_a_retraction_with_acled_s_reason(self, client):
        incident = IncidentFactory(dataset="acled", external_id="IRQ12345", title="Rockets on Balad")

        (retracted_id,) = retract_deleted(
            "acled", [("IRQ12345", 1764547200)], job_id=None, history_reason="ACLED sync #77"
        )

        retracted, _ = changes(client.get(history_url(incident)))
        assert retracted_id == incident.pk
        assert (retracted["change"], retracted["by"], retracted["job"]) == ("retracted", "ACLED sync #77", 77)
        assert retracted["reason"].startswith("deleted by ACLED on 2025-12-01")
        assert kinds(client.get(CHANGES, {"change": "retracted"})) == [("retracted", incident.pk)]

    def test_a_retracted_incident_s_history_is_public_while_its_own_url_is_gone(self, client, published):
        retract(published, "deleted by ACLED on 2026-12-01")

        history = client.get(history_url(published))

        assert history.json()["status"] == "retracted"
        assert [c["change"] for c in changes(history)] == ["retracted", "published"]
        assert client.get(f"/api/v1/incidents/{published.pk}/").status_code == 410

    def test_an_unknown_id_is_a_json_404(self, client):
        response = client.get("/api/v1/incidents/999999999999/history/")

        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}

    def test_it_is_one_query_besides_the_version_however_long_the_history(
        self, client, published, django_assert_num_queries
    ):
        for n in range(20):
            save(published, f"Import #{n}", casualties_best=n + 10)

        with django_assert_num_queries(2):
            response = client.get(history_url(published))

        assert len(changes(response)) == 21


class TestSourcesInTheHistory:
    """The sources an incident cites are `sources` in its history, old → new, as its Feature lists them."""

    @staticmethod
    def cited(client, incident_id: int) -> list[dict]:
        response = client.get(f"/api/v1/incidents/{incident_id}/")
        assert response.status_code == 200, response.content
        return response.json()["properties"]["sources"]

    def test_an_editor_who_replaces_a_source_shows_old_to_new_as_the_incident_lists_them(
        self, editor_api, editor, client
    ):
        wire, ministry = SourceFactory(publisher="Example Wire"), SourceFactory(publisher="Ministry of Defence")
        created = editor_api.post(
            "/api/v1/incidents/", incident_feature(wire, status="published"), format="json"
        ).json()
        before = self.cited(client, created["id"])
        patched = editor_api.patch(
            f"/api/v1/incidents/{created['id']}/",
            {"properties": {"sources": [ministry.pk]}, "reason": "The ministry's own statement"},
            format="json",
        )
        assert patched.status_code == 200, patched.content
        after = self.cited(client, created["id"])

        response = client.get(f"/api/v1/incidents/{created['id']}/history/")

        updated, published = changes(response)
        assert (published["change"], published["properties"]) == ("published", [])
        assert updated["change"] == "updated"
        assert updated["properties"] == [{"name": "sources", "old": before, "new": after}]
        assert [source["id"] for source in before] == [wire.pk]
        assert [source["id"] for source in after] == [ministry.pk]
        assert (updated["by"], updated["reason"]) == ("editor", "The ministry's own statement")
        assert editor.username.encode() not in response.content
        # The same change in the feed.
        (feed_change,) = [c for c in changes(client.get(CHANGES)) if c["id"] == updated["id"]]
        assert feed_change == updated

    def test_a_source_added_beside_the_first_lists_both_after(self, editor_api, client):
        first, second = SourceFactory(title="Report A"), SourceFactory(title="Report B")
        created = editor_api.post(
            "/api/v1/incidents/", incident_feature(first, status="published"), format="json"
        ).json()
        editor_api.patch(
            f"/api/v1/incidents/{created['id']}/",
            {"properties": {"sources": [second.pk, first.pk], "munitions": 10}},
            format="json",
        )

        updated, _ = changes(client.get(f"/api/v1/incidents/{created['id']}/history/"))

        assert [p["name"] for p in updated["properties"]] == ["munitions", "sources"]
        sources = updated["properties"][1]
        assert [s["title"] for s in sources["old"]] == ["Report A"]
        assert [s["title"] for s in sources["new"]] == ["Report A", "Report B"]
        assert sources["new"][1] == {
            "id": second.pk,
            "publisher": "Example Wire",
            "title": "Report B",
            "url": second.url,
            "published_on": "2021-03-04",
            "reliability": "B",
        }

    def test_a_set_outside_the_write_paths_is_one_change_and_a_factory_s_first_sources_are_none(self, client):
        # IncidentFactory writes the row, then sets its source (a second history row): no change of its own.
        old, new = SourceFactory(title="Old report"), SourceFactory(title="New report")
        incident = IncidentFactory(sources=[old])
        assert changes(client.get(history_url(incident)))[0]["change"] == "published"
        # sources.set() outside write_incident: a row after the removal (citing none) and one after the addition.
        incident.sources.set([new])
        assert Incident.history.filter(id=incident.pk).count() == 4

        updated, published = changes(client.get(history_url(incident)))

        assert published["change"] == "published"
        assert updated["change"] == "updated"
        ((name, before, after),) = [(p["name"], p["old"], p["new"]) for p in updated["properties"]]
        assert (name, [s["title"] for s in before], [s["title"] for s in after]) == (
            "sources",
            ["Old report"],
            ["New report"],
        )

    def test_a_draft_s_sources_never_show(self, editor_api, client):
        public, secret, final = (
            SourceFactory(title="Public report"),
            SourceFactory(title="Secret tip-off"),
            SourceFactory(title="Final report"),
        )
        created = editor_api.post(
            "/api/v1/incidents/", incident_feature(secret, status="draft", title="Unconfirmed"), format="json"
        ).json()
        url = f"/api/v1/incidents/{created['id']}/"
        editor_api.patch(url, {"properties": {"status": "published", "sources": [public.pk]}}, format="json")
        editor_api.patch(url, {"properties": {"status": "draft", "sources": [secret.pk]}}, format="json")
        editor_api.patch(url, {"properties": {"status": "published", "sources": [final.pk]}}, format="json")

        response = client.get(f"/api/v1/incidents/{created['id']}/history/")

        updated, published = changes(response)
        assert published["properties"] == []
        assert [(p["name"], [s["title"] for s in p["old"]], [s["title"] for s in p["new"]]) for p in updated[
            "properties"
        ]] == [("sources", ["Public report"], ["Final report"])]  # fmt: skip
        assert b"Secret tip-off" not in response.content
        assert b"Secret tip-off" not in client.get(CHANGES).content
        assert b"Secret tip-off" not in client.get("/feeds/changes.atom").content

    def test_an_import_that_cites_another_source_is_a_change_named_by_its_job(self, client, published):
        from events.imports.bulk import write_incident_history

        other = SourceFactory(publisher="ACLED", title="ACLED event IRQ1")
        published.sources.add(other)  # simple-history's own row of the m2m change
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM events_incident_sources WHERE incident_id = %s AND source_id <> %s", [
                published.pk, other.pk
            ])  # fmt: skip
            write_incident_history(
                cursor, "SELECT %(id)s::bigint AS id, '~' AS type", reason="Import #31", user_id=None,
                params={"id": published.pk},
            )  # fmt: skip

        (removed, added, _) = changes(client.get(history_url(published)))

        assert (removed["by"], removed["job"]) == ("import #31", 31)
        assert [(p["name"], len(p["old"]), [s["title"] for s in p["new"]]) for p in removed["properties"]] == [
            ("sources", 2, ["ACLED event IRQ1"])
        ]
        assert [(p["name"], len(p["old"]), len(p["new"])) for p in added["properties"]] == [("sources", 1, 2)]

    def test_the_atom_feed_names_the_sources(self, editor_api, client):
        wire, ministry = (
            SourceFactory(publisher="Example Wire", title="Report A"),
            SourceFactory(publisher="Ministry of Defence", title="Statement 7"),
        )
        created = editor_api.post(
            "/api/v1/incidents/", incident_feature(wire, status="published"), format="json"
        ).json()
        editor_api.patch(
            f"/api/v1/incidents/{created['id']}/", {"properties": {"sources": [ministry.pk, wire.pk]}}, format="json"
        )

        feed = feedparser.parse(client.get("/feeds/changes.atom").content)

        assert not feed.bozo, feed.get("bozo_exception")
        updated = feed.entries[0]
        assert updated.title == "Updated: Ten rockets on Ayn al-Asad"
        assert "sources: Example Wire: Report A → Example Wire: Report A; Ministry of Defence: Statement 7" in (
            updated.summary
        )

    def test_a_deleted_source_stays_named_by_its_id(self, client, published):
        (gone,) = published.sources.all()
        gone_id = gone.pk
        save(published, "Import #5", title="Renamed")  # a row citing it
        replacement = SourceFactory(title="Replacement")
        gone.delete()  # its citations go with it, and no history row says so
        published.sources.add(replacement)

        latest, *_ = changes(client.get(history_url(published)))

        ((name, before, after),) = [(p["name"], p["old"], p["new"]) for p in latest["properties"]]
        assert name == "sources"
        assert before == [
            {"id": gone_id, "publisher": None, "title": None, "url": None, "published_on": None, "reliability": None}
        ]
        assert [s["title"] for s in after] == ["Replacement"]

    def test_history_and_a_page_stay_one_query_with_sources_changing(
        self, client, published, django_assert_num_queries
    ):
        for n in range(10):
            published.sources.set([SourceFactory(title=f"Report {n}")])  # two rows each
            save(published, f"Import #{n}", casualties_best=n + 10)

        with django_assert_num_queries(2):
            response = client.get(history_url(published))
        with django_assert_num_queries(2):
            page = client.get(CHANGES, {"limit": 100})

        entries = changes(response)
        assert [c["change"] for c in entries] == ["updated"] * 20 + ["published"]
        assert {p["name"] for c in entries[:-1] for p in c["properties"]} == {"sources", "casualties_best"}
        assert changes(page) == entries


class TestChangesFeed:
    @pytest.fixture
    def story(self, published):
        """Four incidents' public lives, one change at a time (oldest first)."""
        syria = IncidentFactory(title="Drone on Conoco", country="SYR", kind="drone_attack")
        draft = IncidentFactory(title="Secret draft", status=Incident.Status.DRAFT)
        save(published, "Import #4", casualties_best=2)
        retract(syria, "deleted by ACLED")
        save(draft, title="Still a draft")
        save(syria, "ACLED sync #8", status="published", retracted_reason="", retracted_at=None)
        return published, syria, draft

    def test_newest_first_across_the_incidents_without_drafts(self, client, story):
        published, syria, draft = story

        response = client.get(CHANGES)

        assert response["Content-Type"] == "application/json"
        assert kinds(response) == [
            ("restored", syria.pk),
            ("retracted", syria.pk),
            ("updated", published.pk),
            ("published", syria.pk),
            ("published", published.pk),
        ]
        assert b"Secret draft" not in response.content
        assert b"Still a draft" not in response.content
        assert response.json()["numberReturned"] == 5

    def test_kind_of_change_since_and_the_incident_filters(self, client, story):
        published, syria, _ = story
        since = Incident.history.get(id=syria.pk, status="retracted").history_date

        assert kinds(client.get(CHANGES, {"change": "retracted,restored"})) == [
            ("restored", syria.pk),
            ("retracted", syria.pk),
        ]
        assert kinds(client.get(CHANGES, {"change": ["updated", "published"], "country": "IRQ"})) == [
            ("updated", published.pk),
            ("published", published.pk),
        ]
        assert kinds(client.get(CHANGES, {"since": since.isoformat()})) == [
            ("restored", syria.pk),
            ("retracted", syria.pk),
        ]
        assert kinds(client.get(CHANGES, {"kind": "drone_attack", "since": "2000-01-01"})) == [
            ("restored", syria.pk),
            ("retracted", syria.pk),
            ("published", syria.pk),
        ]
        assert kinds(client.get(CHANGES, {"since": "2999-01-01T00:00:00+02:00"})) == []

    def test_pages_follow_next_and_prev_links_without_skipping_or_repeating(self, client, story):
        everything = kinds(client.get(CHANGES))

        first = client.get(CHANGES, {"limit": 2}).json()
        links = {link["rel"]: link["href"] for link in first["links"]}
        assert set(links) == {"self", "next"}
        second = client.get(links["next"]).json()
        second_links = {link["rel"]: link["href"] for link in second["links"]}
        third = client.get(second_links["next"]).json()
        back = client.get(second_links["prev"]).json()

        pages = [first, second, third]
        assert [(c["change"], c["incident"]) for page in pages for c in page["changes"]] == everything
        assert [len(page["changes"]) for page in pages] == [2, 2, 1]
        assert "next" not in {link["rel"] for link in third["links"]}
        assert back["changes"] == first["changes"]

    def test_a_page_is_one_query_besides_the_version_whatever_its_size(self, client, story, django_assert_num_queries):
        for n in range(30):
            IncidentFactory(title=f"More {n}")

        for limit in (1, 100):
            with django_assert_num_queries(2):
                client.get(CHANGES, {"limit": limit, "country": "IRQ", "change": "published"})

    @pytest.mark.parametrize(
        ("query", "parameter"),
        [
            ({"since": "yesterday"}, "since"),
            ({"change": "deleted"}, "change"),
            ({"kind": "tank_battle"}, "kind"),
            ({"cursor": "nonsense"}, "cursor"),
            ({"format": "rss"}, "format"),
            ({"ordering": "title"}, "ordering"),
        ],
    )
    def test_a_bad_parameter_is_a_400_naming_it(self, client, query, parameter):
        response = client.get(CHANGES, query)

        assert response.status_code == 400
        assert list(response.json()["errors"]) == [parameter]


class TestAtomFeed:
    def test_a_feed_reader_reads_the_same_changes(self, client, published):
        save(published, "ACLED sync #12", title="Eleven rockets on Ayn al-Asad", casualties_best=4)
        retract(IncidentFactory(title="Withdrawn report"), "deleted by ACLED on 2026-12-01")
        listed = changes(client.get(CHANGES))

        response = client.get("/feeds/changes.atom")

        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/atom+xml")
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.version == "atom10"
        assert feed.feed.title == "Force Posture Dashboard: changes to incidents"
        assert feed.feed.link == "http://testserver/"
        assert [e.title for e in feed.entries] == [
            "Retracted: Withdrawn report",
            "Published: Withdrawn report",
            "Updated: Eleven rockets on Ayn al-Asad",
            "Published: Ten rockets on Ayn al-Asad",
        ]
        assert [e.link for e in feed.entries] == [f"http://testserver/?incident={c['incident']}" for c in listed]
        assert len({e.id for e in feed.entries}) == 4
        assert [dt.datetime(*e.updated_parsed[:6], tzinfo=dt.UTC) for e in feed.entries] == [
            dt.datetime.fromisoformat(c["changed_at"]).replace(microsecond=0) for c in listed
        ]
        retracted, _, updated, _ = feed.entries
        assert "Reason: deleted by ACLED on 2026-12-01" in retracted.summary
        assert "title: Ten rockets on Ayn al-Asad → Eleven rockets on Ayn al-Asad" in updated.summary
        assert "casualties_best: 1 → 4" in updated.summary
        assert updated.author == "ACLED sync #12"
        assert feed.feed.updated_parsed == feed.entries[0].updated_parsed

    def test_the_dashboard_names_the_feed_for_feed_readers(self, client, published):
        page = feedparser.parse(client.get("/").content)  # feedparser reads a page's links too

        (link,) = [link for link in page.feed.links if link.type == "application/atom+xml"]

        assert (link.rel, link.href) == ("alternate", "/feeds/changes.atom")
        assert feedparser.parse(client.get(link.href).content).version == "atom10"

    def test_format_atom_pages_with_a_next_link_and_keeps_the_filters(self, client, published):
        for n in range(3):
            save(published, f"Import #{n}", casualties_best=n + 5)

        feed = feedparser.parse(client.get(CHANGES, {"format": "atom", "limit": 2, "country": "IRQ"}).content)
        (next_link,) = [link.href for link in feed.feed.links if link.rel == "next"]
        rest = feedparser.parse(client.get(next_link).content)

        assert "format=atom" in next_link
        assert "country=IRQ" in next_link
        assert [len(feed.entries), len(rest.entries)] == [2, 2]
        assert {e.id for e in feed.entries}.isdisjoint({e.id for e in rest.entries})
        # One feed, paged: both pages have its id (RFC 5005), which the filters are part of.
        assert feed.feed.id == rest.feed.id
        assert feed.feed.id.endswith("/api/v1/changes/?format=atom&limit=2&country=IRQ")


class TestFreshness:
    URL = "/api/v1/sources/status/"

    def test_each_dataset_s_newest_event_sync_and_import(self, client, django_assert_num_queries):
        IncidentFactory(dataset="acled", occurred_on=dt.date(2026, 12, 6))
        IncidentFactory(dataset="acled", occurred_on=dt.date(2026, 12, 1))
        IncidentFactory(dataset="acled", occurred_on=dt.date(2026, 12, 7), status=Incident.Status.DRAFT)
        IncidentFactory(dataset="ucdp-ged", occurred_on=dt.date(2025, 12, 31))
        IncidentFactory(dataset="")  # an editor's own: no dataset to be fresh
        synced = timezone.now() - dt.timedelta(hours=2)
        job = ImportJob.objects.create(format=ImportJob.Format.ACLED_API, dataset="acled", status="done")
        SyncState.objects.update_or_create(
            name="acled", defaults={"last_job": job, "last_success_at": synced, "last_error": "HTTP 502"}
        )
        SyncState.objects.get_or_create(name="ucdp")  # a sync that never ran says nothing
        imported = timezone.now() - dt.timedelta(days=3)
        ImportJob.objects.create(format=ImportJob.Format.UCDP, dataset="ucdp-ged", status="done", finished_at=imported)

        with django_assert_num_queries(4):  # the version, incidents, imports, syncs
            response = client.get(self.URL)

        assert response.status_code == 200
        acled, ucdp = response.json()["datasets"]
        assert acled == {
            "dataset": "acled",
            "label": "ACLED",
            "incidents": 2,
            "events_to": "2026-12-06",
            "synced_at": synced.isoformat().replace("+00:00", "Z"),
            "sync_failing": True,
            "imported_at": None,
            "version": None,
        }
        assert (ucdp["label"], ucdp["events_to"], ucdp["synced_at"]) == ("UCDP GED", "2025-12-31", None)
        assert ucdp["imported_at"] == imported.isoformat().replace("+00:00", "Z")

    def test_the_ucdp_sync_under_its_dataset_with_the_version_it_read(self, client):
        IncidentFactory(dataset="ucdp-ged", occurred_on=dt.date(2025, 12, 31))
        job = ImportJob.objects.create(format=ImportJob.Format.UCDP_API, dataset="ucdp-ged", status="done")
        synced = timezone.now() - dt.timedelta(days=1)
        SyncState.objects.update_or_create(
            name="ucdp", defaults={"last_job": job, "last_success_at": synced, "version": "26.0.7"}
        )

        (ucdp,) = client.get(self.URL).json()["datasets"]

        assert (ucdp["dataset"], ucdp["label"], ucdp["version"]) == ("ucdp-ged", "UCDP GED", "26.0.7")
        assert (ucdp["events_to"], ucdp["sync_failing"]) == ("2025-12-31", False)

    def test_it_takes_no_parameters(self, client):
        assert client.get(self.URL, {"dataset": "acled"}).json() == {"errors": {"dataset": ["Unknown parameter."]}}
