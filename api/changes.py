"""What changed in the public incidents, when and why: an incident's history and the changes feed (JSON and Atom),
read by PostgreSQL from the incidents' history rows (django-simple-history's events_historicalincident).

A history row is a public change only as the public saw it. Rows of a draft are never read: the first row that
is published is the `published` change (with the values as published, whatever the drafts before it held); a
later published row that differs in a property the API shows is `updated`, with each such property old → new
under its API name (events/properties.py); published → retracted is `retracted` (with the source's reason);
retracted → published is `restored`. The sources an incident cites are listed too, as `sources` (the incident
Feature's name), old → new, each as the API shows a source: a row's sources are simple-history's m2m snapshot
of it (events_historicalincident_sources), compared with the last earlier public row that has any. A row with
none cites what the row before it did (an incident always cites one: such a row is simple-history's row of an
INSERT, before the sources were set, or of a `set()` between its removal and its addition). Rows that change
nothing public (a re-save, a draft's edit) are no change. Why: the row's change reason, which imports and
syncs write as "Import #12" and "ACLED sync #123" (events/imports/runner.py, sync.py); any other is an editor's,
named "editor" and never by account.

Pages are cut by keyset on (history_date, history_id) over the partial index of public history rows (migration
0018), each row's previous public row found by the history's index on the incident id: a page reads its own
rows and their predecessors, whatever the size of the history.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.feedgenerator import Atom1Feed
from rest_framework import exceptions
from rest_framework.permissions import AllowAny

from api import schema
from api.features import INCIDENT_DETAIL_JOINS, source_json
from api.filters import ChangeFilterSet, Cursor, IncidentFilters, PageRequest, read_page, sort_key
from api.http import ATOM, JSON, ApiView, bytes_response
from api.pages import Page, geometry, page_links
from events.fragments import Fragment
from events.models import JOB_REASON, Incident
from events.properties import INCIDENT_PROPERTIES, Property, properties_json
from ops.routers import read_connection

# The statuses whose history rows and incidents are public.
RETRACTED = Incident.Status.RETRACTED.value
PUBLIC_STATUSES = [Incident.Status.PUBLISHED.value, RETRACTED]


# Properties that are not listed old → new: the id never changes, the status is the change's kind, and the
# creation time is the history's own.
NOT_LISTED = {"id", "status", "created_at"}


def listed_properties() -> list[Property]:
    """The properties a change lists: each property that shows one column the history keeps, under the name of
    the first property that shows it (kind, not kind_label or category; base, not base_name)."""
    kept = {field.column for field in Incident.history.model._meta.concrete_fields}
    listed, shown = [], set()
    for prop in INCIDENT_PROPERTIES:
        if len(prop.columns) != 1 or prop.columns[0] not in kept or prop.columns[0] in shown:
            continue
        shown.add(prop.columns[0])
        if prop.name not in NOT_LISTED:
            listed.append(prop)
    return listed


LISTED = listed_properties()
LISTED_NAMES = [prop.name for prop in LISTED] + ["geometry", "sources"]

# A source as the incident's Feature lists it, by its id `u.id` (the id alone if it has since been deleted).
SOURCE_JSONB = source_json(source_id="u.id", build="jsonb_build_object")


# A public history row x of h's incident written before h (not a deletion's): p is the last of them.
EARLIER_PUBLIC = "x.id = h.id AND x.status = ANY(%s) AND x.history_type <> '-' AND x.history_id < h.history_id"


def _sources_of(row_id: Fragment | str) -> Fragment:
    """The ids of the sources that history row `row_id` (an expression) cites, sorted; NULL for none."""
    return (
        Fragment(
            "(SELECT array_agg(hs.source_id ORDER BY hs.source_id) FROM events_historicalincident_sources AS hs "
            "WHERE hs.history_id = "
        )
        + row_id
        + ")"
    )


def _sources_json(ids: str) -> str:
    """{"sources": [...]} of the source ids `ids`, in the Feature's order, when `src` says they changed."""
    return (
        "CASE WHEN src.changed THEN jsonb_build_object('sources', (SELECT jsonb_agg("
        + SOURCE_JSONB
        + " ORDER BY s.publisher, s.title, u.id) FROM unnest("
        + ids
        + ") AS u(id) LEFT JOIN posture_source AS s ON s.id = u.id)) ELSE '{}'::jsonb END"
    )


def _snapshot(row: str) -> Fragment:
    """The listed properties of history row `row`, and its geometry, as one jsonb object (the expressions read
    the row as `i`)."""
    listed = properties_json(LISTED, [("geometry", geometry("i"))])
    return "(SELECT " + listed + Fragment(f"::jsonb FROM (SELECT {row}.*) AS i ") + INCIDENT_DETAIL_JOINS + ")"


# One public change per history row h: its previous public row p (by the index on the incident id; in the order
# the rows were written, which history_id keeps: a sync's rows are dated when its transaction began, an editor's
# when saved, so two writers' dates can cross), what it is,
# and the listed properties that differ. The sources cited before h (src) are p's, or, when p has none, those of
# the last earlier public row that has any, looked up only then and only if h has sources of its own to compare.
# Rows whose `change` is NULL changed nothing public. OFFSET 0 keeps the planner from inlining cur, src and c,
# which would compute the snapshots again in each place that reads them.
CHANGES_FROM = (
    "FROM events_historicalincident AS h "
    "LEFT JOIN LATERAL (SELECT x.status, "
    + _snapshot("x")
    + " AS snapshot, "
    + _sources_of("x.history_id")
    + " AS sources FROM events_historicalincident AS x "
    + Fragment(
        "WHERE " + EARLIER_PUBLIC + " ORDER BY x.history_id DESC LIMIT 1) AS p ON true ",
        (PUBLIC_STATUSES,),
    )
    + "CROSS JOIN LATERAL (SELECT "
    + _snapshot("h")
    + " AS snapshot, "
    + _sources_of("h.history_id")
    + " AS sources OFFSET 0) AS cur "
    + "CROSS JOIN LATERAL (SELECT b.sources, b.sources <> cur.sources AS changed FROM (SELECT CASE "
    "WHEN p.sources IS NOT NULL OR cur.sources IS NULL THEN p.sources "
    "WHEN p.status IS NOT NULL THEN "
    + _sources_of(
        "(SELECT x.history_id FROM events_historicalincident AS x "
        + Fragment(
            "WHERE " + EARLIER_PUBLIC + " "
            "AND EXISTS (SELECT FROM events_historicalincident_sources AS y WHERE y.history_id = x.history_id) "
            "ORDER BY x.history_id DESC LIMIT 1)",
            (PUBLIC_STATUSES,),
        )
    )
    + " END AS sources OFFSET 0) AS b) AS src "
    + Fragment(
        "CROSS JOIN LATERAL (SELECT CASE "
        "WHEN p.status IS NULL THEN CASE WHEN h.status = %s THEN 'retracted' ELSE 'published' END "
        "WHEN p.status <> h.status THEN CASE WHEN h.status = %s THEN 'retracted' ELSE 'restored' END "
        "WHEN p.snapshot <> cur.snapshot OR src.changed THEN 'updated' END AS change OFFSET 0) AS c ",
        (RETRACTED, RETRACTED),
    )
)
PUBLIC_ROWS = Fragment("h.status = ANY(%s) AND h.history_type <> '-' AND c.change IS NOT NULL", (PUBLIC_STATUSES,))

FIELDS = (
    "CASE WHEN p.snapshot IS NULL THEN '[]'::json ELSE (SELECT coalesce(json_agg(json_build_object("
    "'name', n.key, 'old', o.value, 'new', n.value) "
    + Fragment("ORDER BY array_position(%s::text[], n.key)), '[]'::json) ", (LISTED_NAMES,))
    + "FROM jsonb_each(cur.snapshot || "
    + _sources_json("cur.sources")
    + ") AS n JOIN jsonb_each(p.snapshot || "
    + _sources_json("src.sources")
    + ") AS o ON o.key = n.key WHERE n.value IS DISTINCT FROM o.value) END"
)


def _change_json() -> Fragment:
    reason = "h.history_change_reason"
    job = Fragment(f"{reason} ~ %s", (JOB_REASON,))
    return (
        "json_build_object('id', h.history_id, 'incident', h.id, 'title', h.title, 'change', c.change, "
        "'changed_at', h.history_date, 'properties', "
        + FIELDS
        + ", 'by', CASE WHEN "
        + job
        + Fragment(
            f" THEN regexp_replace({reason}, '^Import', 'import') ELSE 'editor' END, "
            f"'job', CASE WHEN {reason} ~ %s THEN substring({reason} from %s)::bigint END, ",
            (JOB_REASON, "#([0-9]+)$"),
        )
        + "'reason', CASE WHEN c.change = 'retracted' THEN nullif(h.retracted_reason, '') WHEN NOT coalesce("
        + job
        + f", false) THEN nullif({reason}, '') END)"
    )


CHANGE_JSON = _change_json()


@dataclass(frozen=True)
class ChangeFilters:
    """What a request asks of the changes: the incidents (already filtered), from when, and which kinds."""

    incidents: QuerySet
    since: dt.datetime | None = None
    kinds: tuple[str, ...] = ()

    def where(self) -> Fragment:
        public = self.incidents.filter(status__in=PUBLIC_STATUSES).order_by().values("id")
        where = PUBLIC_ROWS + " AND h.id IN (" + Fragment.of(public) + ")"
        if self.since is not None:
            where += Fragment(" AND h.history_date >= %s", (self.since,))
        if self.kinds:
            necessary = Fragment.join(" OR ", [NECESSARY[kind] for kind in self.kinds])
            where += " AND (" + necessary + Fragment(") AND c.change = ANY(%s)", (list(self.kinds),))
        return where


# What a history row of each kind of change must be, in its own columns: the rare kinds are found through the
# index of retracted rows instead of telling every row's change apart.
NECESSARY = {
    "published": Fragment("h.status = %s", (Incident.Status.PUBLISHED.value,)),
    "updated": Fragment("true"),
    "retracted": Fragment("h.status = %s", (RETRACTED,)),
    "restored": Fragment(
        "h.status = %s AND h.id = ANY(ARRAY(SELECT r.id FROM events_historicalincident AS r WHERE r.status = %s))",
        (Incident.Status.PUBLISHED.value, RETRACTED),
    ),
}


def incident_history(pk: int) -> bytes | None:
    """{"incident", "status", "changes": every public change, the last written first} of a published or retracted
    incident; None for any other id. One statement."""
    sql = (
        "SELECT json_build_object('incident', i.id, 'status', i.status, 'changes', (SELECT coalesce(json_agg("
        "entry ORDER BY history_id DESC), '[]') FROM (SELECT "
        + CHANGE_JSON
        + " AS entry, h.history_id "
        + CHANGES_FROM
        + "WHERE "
        + PUBLIC_ROWS
        + Fragment(
            " AND h.id = i.id) AS changes))::text FROM events_incident AS i WHERE i.id = %s AND i.status = ANY(%s)",
            (pk, PUBLIC_STATUSES),
        )
    )
    with read_connection().cursor() as cursor:
        cursor.execute(sql.sql, sql.params)
        row = cursor.fetchone()
    return row[0].encode() if row else None


def change_page(filters: ChangeFilters, page: PageRequest) -> Page:
    """One page of public changes, newest first, in one statement: the page's rows in the scan's order (away
    from the cursor), numbered, then aggregated in the page's order with the keys of its two ends."""
    cursor = page.cursor
    backwards = cursor is not None and cursor.backwards
    scan = "ASC" if backwards else "DESC"  # newest first; going back scans towards the newest
    where = filters.where()
    if cursor is not None:
        where += Fragment(
            f" AND (h.history_date, h.history_id) {'>' if backwards else '<'} (%s, %s)", (cursor.key, cursor.id)
        )
    sql = (
        "WITH page AS MATERIALIZED (SELECT "
        + CHANGE_JSON
        + f" AS entry, json_build_array(h.history_date, h.history_id)::text AS key, "
        f"row_number() OVER (ORDER BY h.history_date {scan}, h.history_id {scan}) AS n "
        + CHANGES_FROM
        + "WHERE "
        + where
        + Fragment(f" ORDER BY h.history_date {scan}, h.history_id {scan} LIMIT %s) ", (page.limit + 1,))
        + Fragment(
            f"SELECT count(*), coalesce(json_agg(entry ORDER BY n {'DESC' if backwards else 'ASC'}) "
            "FILTER (WHERE n <= %s), '[]')::text, min(key) FILTER (WHERE n = 1), min(key) FILTER (WHERE n = %s) "
            "FROM page",
            (page.limit, page.limit),
        )
    )
    with read_connection().cursor() as db:
        db.execute(sql.sql, sql.params)
        fetched, entries, near, far = db.fetchone()
    has_more = fetched > page.limit
    near_cursor = _cursor(page, near, backwards=not backwards) if near else None
    far_cursor = _cursor(page, far, backwards=backwards) if far and has_more else None
    if backwards:
        next_cursor, prev_cursor = near_cursor, far_cursor
    else:
        next_cursor, prev_cursor = far_cursor, (near_cursor if cursor is not None else None)
    return Page(
        matched=None, returned=min(fetched, page.limit), features=entries.encode(), next=next_cursor, prev=prev_cursor
    )


def _cursor(page: PageRequest, key_json: str, *, backwards: bool) -> Cursor:
    plain, pk = json.loads(key_json)
    return Cursor(ordering=page.ordering, backwards=backwards, key=sort_key(page.sort_field, plain), id=pk)


def change_list(page: Page, links: list[dict]) -> bytes:
    """{"numberReturned", "links", "changes"} around the changes PostgreSQL built."""
    head = json.dumps({"numberReturned": page.returned, "links": links}, separators=(",", ":")).encode()
    return head[:-1] + b',"changes":' + page.features + b"}"


# How each kind of change reads in a title: "Updated: Ten rockets on Ayn al-Asad".
TITLES = {"published": "Published", "updated": "Updated", "retracted": "Retracted", "restored": "Restored"}


def change_text(entry: dict) -> str:
    """A change in words: its fields old → new, the reason, and who made it."""
    lines = [f"{p['name']}: {_value(p['old'])} → {_value(p['new'])}" for p in entry["properties"]]
    if entry["reason"]:
        lines.append(f"Reason: {entry['reason']}")
    lines.append(f"By: {entry['by']}")
    return "\n".join(lines)


def _value(value) -> str:
    if value in (None, "", []):
        return "(none)"
    if isinstance(value, list):  # the sources, each as "publisher: title"
        return "; ".join(
            f"{source['publisher']}: {source['title']}" if source["publisher"] is not None else f"source {source['id']}"
            for source in value
        )
    return str(value)


class ChangeFeed(Atom1Feed):
    """Atom 1.0 with the next page's link (RFC 5005 paging), so a reader can walk back through the changes."""

    def __init__(self, *args, next_url: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.next_url = next_url

    def add_root_elements(self, handler):
        super().add_root_elements(handler)
        if self.next_url:
            handler.addQuickElement("link", "", {"rel": "next", "href": self.next_url})


def change_feed(entries: list[dict], *, feed_url: str, feed_id: str, site_url: str, next_url: str | None) -> bytes:
    """The changes as an Atom feed: one entry per change, linking to the incident on the dashboard. `feed_id` is
    the same on every page of one feed (RFC 5005): its URL without the cursor."""
    feed = ChangeFeed(
        title="Force Posture Dashboard: changes to incidents",
        link=site_url,
        feed_url=feed_url,
        description="Incidents published, corrected, retracted and restored, newest first.",
        language="en",
        id=feed_id,
        next_url=next_url,
    )
    for entry in entries:
        changed_at = dt.datetime.fromisoformat(entry["changed_at"])
        feed.add_item(
            title=f"{TITLES[entry['change']]}: {entry['title']}",
            link=f"{site_url}?incident={entry['incident']}",
            description=change_text(entry),
            unique_id=f"{site_url}api/v1/incidents/{entry['incident']}/history/#change-{entry['id']}",
            unique_id_is_permalink=False,
            pubdate=changed_at,
            updateddate=changed_at,
            author_name=entry["by"],
            categories=[entry["change"]],
        )
    return feed.writeString("utf-8").encode()


# The changes' one order, newest first, with the key the pages are cut on.
CHANGE_ORDERINGS = {"-changed_at": ("history_date", True)}
DEFAULT_CHANGE_LIMIT = 100


@schema.changes
class ChangeListView(ApiView):
    """The public changes across the incidents, newest first: JSON pages, or Atom (?format=atom, /feeds/)."""

    permission_classes = [AllowAny]
    query_parameters = ChangeFilterSet.parameter_names() | {"limit", "cursor", "format"}
    versioned = True
    atom = False  # /feeds/changes.atom

    def get(self, request):
        reader = self.reader(request)
        filterset = ChangeFilterSet.read(reader, Incident.objects.none())
        page = read_page(reader, default_limit=DEFAULT_CHANGE_LIMIT, orderings=CHANGE_ORDERINGS)
        atom = reader.choice("format", ["json", "atom"], default="atom" if self.atom else "json") == "atom"
        reader.check()
        if early := self.not_modified(request):
            return early
        values = filterset.values
        filters = ChangeFilters(
            IncidentFilters(filterset).apply(Incident.objects.all()), values["since"], values["change"] or ()
        )
        result = change_page(filters, page)
        links = page_links(request, result, media_type=ATOM if atom else JSON)
        if not atom:
            return bytes_response(change_list(result, links), JSON)
        next_url = next((link["href"] for link in links if link["rel"] == "next"), None)
        query = request.GET.copy()
        query.pop("cursor", None)
        body = change_feed(
            json.loads(result.features),
            feed_url=request.build_absolute_uri(),
            feed_id=request.build_absolute_uri(request.path + (f"?{query.urlencode()}" if query else "")),
            site_url=request.build_absolute_uri("/"),
            next_url=next_url,
        )
        return bytes_response(body, ATOM)


@schema.incident_history
class IncidentHistoryView(ApiView):
    """What changed in one published or retracted incident, newest first."""

    permission_classes = [AllowAny]
    query_parameters = set()
    versioned = True

    def get(self, request, pk: int):
        self.reader(request).check()
        if early := self.not_modified(request):
            return early
        history = incident_history(pk)
        if history is None:
            raise exceptions.NotFound()
        return bytes_response(history, JSON)
