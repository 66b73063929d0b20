"""The dashboard page as HTML (its configuration, its script policy), and the API filter added for it: links by
incident filters. What the page does in a browser is tests/test_browser.py."""

import datetime as dt
import json
import re

import pytest

from events.models import Incident

from .factories import IncidentFactory, IncidentLinkFactory

pytestmark = pytest.mark.django_db


def config_of(response) -> dict:
    match = re.search(rb'<script id="dashboard-config" type="application/json">(.*?)</script>', response.content)
    assert match, "the page carries its configuration as a json_script block"
    return json.loads(match.group(1))


class TestThePage:
    def test_it_passes_its_configuration_as_data(self, client, settings):
        settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
        settings.MAP_TILE_ATTRIBUTION = "© Example"

        response = client.get("/")

        assert response.status_code == 200
        config = config_of(response)
        assert config["apiBase"] == "/api/v1/"
        assert config["tileUrl"] == "https://tiles.example.org/{z}/{x}/{y}.png"
        assert config["tileAttribution"] == "© Example"
        assert config["bordersUrl"] == "/static/vendor/world-atlas/countries-50m.json"
        assert config["countries"]["IRQ"] == ["368", "Iraq"]
        assert config["countries"]["SYR"] == ["760", "Syria"]

    def test_an_empty_tile_url_reaches_the_page_empty(self, client, settings):
        settings.MAP_TILE_URL = ""

        assert config_of(client.get("/"))["tileUrl"] == ""

    def test_the_import_map_carries_the_policys_nonce(self, client):
        response = client.get("/")

        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        assert f'<script type="importmap" nonce="{nonce}">'.encode() in response.content
        # Every other script is a file from this origin.
        scripts = re.findall(rb"<script([^>]*)>", response.content)
        for attributes in scripts:
            assert b"src=" in attributes or b"importmap" in attributes or b"application/json" in attributes

    def test_it_preloads_its_modules(self, client):
        content = client.get("/").content

        modules = (b"js/main.js", b"js/map.js", b"js/map-incidents.js", b"js/timeline.js", b"js/analytics.js")
        shims = (b"js/leaflet-shim.js", b"js/d3-shim.js", b"js/plot-shim.js")
        for module in (*modules, *shims, b"vendor/topojson-client/src/index.js"):
            assert b'<link rel="modulepreload" href="/static/' + module + b'">' in content
        # d3 and Plot are classic scripts the shims export: deferred, they run before the module graph.
        d3 = content.index(b'<script defer src="/static/vendor/d3/d3.min.js">')
        plot = content.index(b'<script defer src="/static/vendor/plot/plot.umd.min.js">')
        assert d3 < plot < content.index(b'<script type="module"')
        assert b'"@observablehq/plot": "/static/js/plot-shim.js"' in content
        assert b"admin-borders.js" not in content
        assert b"worker" not in content

    def test_only_an_editors_page_can_review_suggestions(self, client, editor):
        anonymous = client.get("/")

        assert b'name="dashboard-editor"' not in anonymous.content
        assert "csrftoken" not in anonymous.cookies  # a visitor's page sets no cookie

        client.force_login(editor)
        page = client.get("/").content.decode()

        meta = re.search(r'<meta name="dashboard-editor" content="([^"]+)"([^>]*)>', page)
        assert meta, "an editor's page carries the review token"
        assert len(meta.group(1)) == 64  # Django's masked CSRF token
        assert 'data-queue="/admin/events/linksuggestion/"' in meta.group(2)
        assert 'data-accept="true"' in meta.group(2)
        assert 'data-reject="true"' in meta.group(2)

    def test_data_in_the_configuration_cannot_close_the_script(self, client, settings):
        settings.MAP_TILE_ATTRIBUTION = "</script><script>alert(1)</script>"

        response = client.get("/")

        assert b"</script><script>alert(1)" not in response.content
        assert config_of(response)["tileAttribution"] == "</script><script>alert(1)</script>"


class TestLinksByIncidentFilters:
    URL = "/api/v1/links/"

    @pytest.fixture
    def links(self):
        old = IncidentLinkFactory(
            incident=IncidentFactory(occurred_on=dt.date(2020, 1, 8)),
            prior=IncidentFactory(occurred_on=dt.date(2020, 1, 3)),
        )
        new = IncidentLinkFactory(
            incident=IncidentFactory(occurred_on=dt.date(2021, 3, 3)),
            prior=IncidentFactory(occurred_on=dt.date(2021, 2, 25)),
        )
        # Crosses the new year: its later end is in 2021.
        across = IncidentLinkFactory(
            incident=IncidentFactory(occurred_on=dt.date(2021, 1, 2)),
            prior=IncidentFactory(occurred_on=dt.date(2020, 12, 20)),
        )
        return {"old": old.pk, "new": new.pk, "across": across.pk}

    def ids(self, response) -> set[int]:
        assert response.status_code == 200, response.content
        return {link["id"] for link in response.json()["results"]}

    def test_without_filters_it_lists_every_link(self, client, links):
        assert self.ids(client.get(self.URL)) == set(links.values())

    def test_a_date_range_keeps_links_with_an_end_in_it(self, client, links):
        assert self.ids(client.get(self.URL, {"start": "2021-01-01", "end": "2021-12-31"})) == {
            links["new"],
            links["across"],
        }
        assert self.ids(client.get(self.URL, {"end": "2020-12-31"})) == {links["old"], links["across"]}

    def test_other_incident_filters_apply_too(self, client, links):
        Incident.objects.filter(links_out__pk=links["new"]).update(country="SYR")

        assert self.ids(client.get(self.URL, {"country": "SYR"})) == {links["new"]}

    def test_a_link_to_a_draft_stays_hidden(self, client, links):
        Incident.objects.filter(links_in__pk=links["new"]).update(status=Incident.Status.DRAFT)

        assert self.ids(client.get(self.URL, {"start": "2021-01-01"})) == {links["across"]}

    def test_a_bad_filter_is_a_400_naming_it(self, client, links):
        response = client.get(self.URL, {"start": "March", "page_size": "10"})

        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["start"]

    def test_an_unknown_parameter_is_a_400(self, client, links):
        response = client.get(self.URL, {"since": "2021-01-01"})

        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["since"]

    def test_the_query_count_does_not_grow_with_the_links(self, client, links, django_assert_num_queries):
        with django_assert_num_queries(4):  # the data version, count, page, sources of the page
            client.get(self.URL, {"start": "2020-01-01"})


class TestClustersAreKeptWhileTheDataIsUnchanged:
    URL = "/api/v1/incidents/clusters/"

    def test_a_repeat_costs_one_query_and_a_change_is_seen_at_once(self, client, django_assert_num_queries):
        IncidentFactory.create_batch(3)
        first = client.get(self.URL, {"zoom": "6"})

        with django_assert_num_queries(1):  # the data's version; the body comes from the cache
            again = client.get(self.URL, {"zoom": "6"})
        IncidentFactory()
        changed = client.get(self.URL, {"zoom": "6"})

        assert again.content == first.content
        assert first.json()["numberMatched"] == 3
        assert changed.json()["numberMatched"] == 4

    def test_a_deletion_is_seen_at_once(self, client):
        doomed, _ = IncidentFactory.create_batch(2)
        client.get(self.URL, {"zoom": "6"})

        doomed.delete()

        assert client.get(self.URL, {"zoom": "6"}).json()["numberMatched"] == 1

    def test_drafts_cached_for_an_editor_never_reach_the_public(self, client, editor):
        IncidentFactory()
        IncidentFactory(status=Incident.Status.DRAFT)
        client.force_login(editor)
        assert client.get(self.URL, {"zoom": "6"}).json()["numberMatched"] == 2

        client.logout()

        assert client.get(self.URL, {"zoom": "6"}).json()["numberMatched"] == 1
