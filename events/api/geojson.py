"""GeoJSON built by PostgreSQL.

A page of features is one SQL statement: Django compiles the filtered, ordered and limited QuerySet (the one
query layer), and PostgreSQL turns the rows into Feature objects with ST_AsGeoJSON and json_build_object and
aggregates them with json_agg. Python only glues the aggregate's bytes into the FeatureCollection envelope, so
no model instance is ever built for a collection.

Pages are cut by keyset (the sort key and id of the last row) rather than by offset, so the thousandth page
costs what the first does, and rows are neither skipped nor repeated when the order has ties.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import EmptyResultSet
from django.db import transaction
from django.db.models import Q, QuerySet

from events.models import (
    KIND_CATEGORY,
    Casualty,
    Category,
    DatePrecision,
    Incident,
    IncidentCell,
    IncidentLink,
    Involvement,
    Kind,
)
from ops.routers import read_connection

from .params import Cursor, IncidentFilters, PageRequest

GEOJSON = "application/geo+json"
COORDINATE_DECIMALS = 6  # about 0.1 m: more than any source's precision


@dataclass(frozen=True)
class Fragment:
    """SQL text with its positional parameters, so pieces can be joined without miscounting placeholders."""

    sql: str
    params: tuple = ()

    def __add__(self, other: Fragment | str) -> Fragment:
        if isinstance(other, str):
            return Fragment(self.sql + other, self.params)
        return Fragment(self.sql + other.sql, self.params + other.params)

    def __radd__(self, other: str) -> Fragment:
        return Fragment(other + self.sql, self.params)

    @classmethod
    def of(cls, queryset: QuerySet) -> Fragment:
        sql, params = queryset.query.sql_with_params()
        return cls(sql, tuple(params))

    @classmethod
    def join(cls, separator: str, parts: Iterable[Fragment]) -> Fragment:
        parts = list(parts)
        return cls(separator.join(p.sql for p in parts), tuple(v for p in parts for v in p.params))


def labels_json(pairs: Iterable[tuple[object, object]]) -> Fragment:
    """A constant lookup table passed as one jsonb parameter: `<fragment> ->> key`."""
    return Fragment("%s::jsonb", (json.dumps({str(k): str(v) for k, v in pairs}),))


KIND_LABELS = labels_json((kind.value, kind.label) for kind in Kind)
KIND_CATEGORIES = labels_json((kind.value, KIND_CATEGORY[kind]) for kind in Kind)
CATEGORY_LABELS = labels_json((c.value, c.label) for c in Category)
DATE_PRECISIONS = labels_json((p.value, p.label) for p in DatePrecision)


def date_label(alias: str) -> str:
    """As Incident.date_label(): '2021-03-03', 'week of 2021-03-01', 'March 2021'."""
    return (
        f"CASE {alias}.date_precision"
        f" WHEN {DatePrecision.MONTH.value} THEN to_char({alias}.occurred_on, 'FMMonth YYYY')"
        f" WHEN {DatePrecision.WEEK.value} THEN 'week of ' || to_char({alias}.occurred_on, 'YYYY-MM-DD')"
        f" ELSE to_char({alias}.occurred_on, 'YYYY-MM-DD') END"
    )


def geometry(alias: str, column: str = "location") -> str:
    return f"ST_AsGeoJSON({alias}.{column}, {COORDINATE_DECIMALS})::json"


# --- incidents -----------------------------------------------------------------------------------------

# Attackers and targets by name, in one pass over the incident's involvements.
# Attackers and targets by name, for all the rows of `i` at once: one pass over their involvements grouped by
# incident, rather than a subquery per row (which rebuilt the actors' hash ten thousand times a page).
INVOLVED = Fragment(
    """LEFT JOIN (
        SELECT v.incident_id,
               json_agg(a.name ORDER BY a.name) FILTER (WHERE v.role = %s) AS attackers,
               json_agg(a.name ORDER BY a.name) FILTER (WHERE v.role = %s) AS targets
        FROM events_involvement v JOIN posture_actor a ON a.id = v.actor_id
        WHERE v.incident_id IN (SELECT id FROM i)
        GROUP BY v.incident_id
    ) AS inv ON inv.incident_id = i.id""",
    (Involvement.Role.ATTACKER.value, Involvement.Role.TARGET.value),
)


def incident_properties(*, detail: bool = False, extra: list | None = None) -> Fragment:
    """The properties of an incident Feature (alias i, base b, involvements inv; nearest base nb in detail)."""
    pairs: list[tuple[str, Fragment | str]] = [
        ("id", "i.id"),
        ("occurred_on", "i.occurred_on"),
        ("date_precision", DATE_PRECISIONS + " ->> i.date_precision::text"),
        ("date_label", date_label("i")),
        ("kind", "i.kind"),
        ("kind_label", KIND_LABELS + " ->> i.kind"),
        ("category", KIND_CATEGORIES + " ->> i.kind"),
        ("title", "i.title"),
        ("place_name", "i.place_name"),
        ("country", "i.country"),
        ("base", "i.base_id"),
        ("base_name", "b.name"),
        ("attackers", "coalesce(inv.attackers, '[]'::json)"),
        ("targets", "coalesce(inv.targets, '[]'::json)"),
        ("attribution", "i.attribution"),
        ("casualties_best", "i.casualties_best"),
        ("fatalities_best", "i.fatalities_best"),
        ("weapon", "i.weapon"),
        ("munitions", "i.munitions"),
        ("status", "i.status"),
    ]
    if detail:
        pairs += [
            ("summary", "i.summary"),
            ("geo_precision", "i.geo_precision"),
            ("admin1", "i.admin1"),
            ("nearest_base", "CASE WHEN nb.id IS NOT NULL THEN json_build_object('id', nb.id, 'name', nb.name) END"),
            ("nearest_base_km", "i.nearest_base_km"),
            ("dataset", "i.dataset"),
            ("external_id", "i.external_id"),
            ("created_at", "i.created_at"),
            ("updated_at", "i.updated_at"),
        ]
    pairs += extra or []
    # json_build_object takes at most 100 arguments; detail stays well below.
    args = Fragment.join(", ", [Fragment(f"'{name}', ") + value for name, value in pairs])
    return "json_build_object(" + args + ")"


def incident_feature(*, detail: bool = False, extra: list | None = None) -> Fragment:
    return (
        "json_build_object('type', 'Feature', 'id', i.id, 'geometry', "
        + geometry("i")
        + ", 'properties', "
        + incident_properties(detail=detail, extra=extra)
        + ")"
    )


INCIDENT_COLUMNS = [
    "id",
    "occurred_on",
    "date_precision",
    "kind",
    "title",
    "place_name",
    "country",
    "base_id",
    "attribution",
    "casualties_best",
    "fatalities_best",
    "weapon",
    "munitions",
    "status",
    "location",
]
INCIDENT_DETAIL_COLUMNS = [
    *INCIDENT_COLUMNS,
    "summary",
    "geo_precision",
    "admin1",
    "nearest_base_id",
    "nearest_base_km",
    "dataset",
    "external_id",
    "created_at",
    "updated_at",
]
INCIDENT_JOINS = Fragment("LEFT JOIN posture_base AS b ON b.id = i.base_id ") + INVOLVED
INCIDENT_DETAIL_JOINS = INCIDENT_JOINS + " LEFT JOIN posture_base AS nb ON nb.id = i.nearest_base_id"


@dataclass(frozen=True)
class FeatureSpec:
    """How a table's rows become Features: the columns the page selects (a CTE named `alias`), the Feature
    expression over them, and the joins it needs (which may read the CTE again)."""

    alias: str
    columns: list[str]
    feature: Fragment
    joins: Fragment


INCIDENTS = FeatureSpec(alias="i", columns=INCIDENT_COLUMNS, feature=incident_feature(), joins=INCIDENT_JOINS)


SOURCE_JSON = (
    "json_build_object('id', s.id, 'publisher', s.publisher, 'title', s.title, 'url', s.url, "
    "'published_on', s.published_on, 'reliability', s.reliability)"
)
RELATION_LABELS = labels_json(IncidentLink.Relation.choices)
CASUALTY_GROUPS = labels_json(Casualty.Group.choices)
CASUALTY_KINDS = labels_json(Casualty.Kind.choices)


def link_json() -> Fragment:
    """A link as LinkSerializer shows it on /api/v1/links/ (l the link, li its incident, lp its prior)."""
    ref = "json_build_object('id', {0}.id, 'title', {0}.title, 'occurred_on', {0}.occurred_on, 'kind', {0}.kind)"
    return (
        "json_build_object('id', l.id, 'relation', l.relation, 'relation_label', "
        + RELATION_LABELS
        + f" ->> l.relation, 'incident', {ref.format('li')}, 'prior', {ref.format('lp')}, "
        "'lag_days', li.occurred_on - lp.occurred_on, 'confidence', l.confidence, 'asserted_by', l.asserted_by, "
        "'note', l.note, 'sources', (SELECT coalesce(json_agg(" + SOURCE_JSON + " ORDER BY s.publisher, s.title), "
        "'[]'::json) FROM events_incidentlink_sources x JOIN posture_source s ON s.id = x.source_id "
        "WHERE x.incidentlink_id = l.id))"
    )


def incident_relations_json(through_drafts: bool) -> list[tuple[str, Fragment | str]]:
    """actors, casualties, sources and links in and out of incident i, each one subquery of the same statement."""

    def links(end: str) -> Fragment:
        return (
            "(SELECT coalesce(json_agg("
            + link_json()
            + " ORDER BY lp.occurred_on, li.occurred_on, l.id), '[]'::json) FROM events_incidentlink l "
            "JOIN events_incident li ON li.id = l.incident_id JOIN events_incident lp ON lp.id = l.prior_id "
            + Fragment(f"WHERE l.{end} = i.id AND (%s OR (li.status = %s AND lp.status = %s)))", (
                through_drafts, Incident.Status.PUBLISHED.value, Incident.Status.PUBLISHED.value
            ))
        )  # fmt: skip

    return [
        (
            "actors",
            "(SELECT coalesce(json_agg(json_build_object('role', v.role, 'slug', a.slug, 'name', a.name) "
            "ORDER BY v.role, a.name), '[]'::json) FROM events_involvement v "
            "JOIN posture_actor a ON a.id = v.actor_id WHERE v.incident_id = i.id)",
        ),
        (
            "casualties",
            "(SELECT coalesce(json_agg(json_build_object('group', c.\"group\", 'group_label', "
            + CASUALTY_GROUPS
            + " ->> c.\"group\", 'kind', c.kind, 'kind_label', "
            + CASUALTY_KINDS
            + " ->> c.kind, 'low', c.low, 'best', c.best, 'high', c.high, 'note', c.note) "
            "ORDER BY c.\"group\", c.kind), '[]'::json) FROM events_casualty c WHERE c.incident_id = i.id)",
        ),
        (
            "sources",
            "(SELECT coalesce(json_agg(" + SOURCE_JSON + " ORDER BY s.publisher, s.title), '[]'::json) "
            "FROM events_incident_sources x JOIN posture_source s ON s.id = x.source_id WHERE x.incident_id = i.id)",
        ),
        ("links_out", links("incident_id")),
        ("links_in", links("prior_id")),
    ]


def incident_detail_feature(incidents: QuerySet, pk: int, *, through_drafts: bool) -> dict | None:
    """One incident as a Feature with everything hanging off it, in one statement; None if `incidents` lacks it.

    `through_drafts` says whether links to draft incidents may be shown (to editors only).
    """
    try:
        row = Fragment.of(incidents.filter(pk=pk).order_by().values(*INCIDENT_DETAIL_COLUMNS))
    except EmptyResultSet:  # an id beyond bigint: Django knows nothing can match
        return None
    feature = incident_feature(detail=True, extra=incident_relations_json(through_drafts))
    sql = "WITH i AS (" + row + ") SELECT " + feature + "::text FROM i " + INCIDENT_DETAIL_JOINS
    with read_connection().cursor() as cursor:
        cursor.execute(sql.sql, sql.params)
        row = cursor.fetchone()
    return json.loads(row[0]) if row else None


# --- pages ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    matched: int | None
    returned: int
    features: bytes  # a JSON array
    next: Cursor | None
    prev: Cursor | None


def _beyond(field: str, key, pk: int, descending: bool) -> Q:
    """Rows after (key, pk) in the scan order. The redundant bound on `field` lets the index cut the range."""
    if descending:
        return Q(**{f"{field}__lte": key}) & (Q(**{f"{field}__lt": key}) | Q(**{field: key, "pk__lt": pk}))
    return Q(**{f"{field}__gte": key}) & (Q(**{f"{field}__gt": key}) | Q(**{field: key, "pk__gt": pk}))


def feature_page(
    rows: QuerySet, page: PageRequest, spec: FeatureSpec, *, count: bool = True, counted: Fragment | None = None
) -> Page:
    """One page of `rows` as Features, in one statement.

    The page's rows come out of Django's SQL with every column the Feature needs, so PostgreSQL reads each
    row once (no second lookup by id), numbers them in the page's order and aggregates them with json_agg.
    numberMatched is counted on the first page and then travels in the cursors; `counted`, a scalar that may
    know it already (counted_in_cells), spares the count unless it is NULL.
    """
    cursor = page.cursor
    backwards = cursor is not None and cursor.backwards
    # The scan runs away from the cursor: forwards in the requested order, or backwards towards the start.
    scan_descending = page.descending != backwards
    key, alias = page.sort_field, spec.alias
    scanned = rows if cursor is None else rows.filter(_beyond(key, cursor.key, cursor.id, scan_descending))
    order = [f"-{key}", "-pk"] if scan_descending else [key, "pk"]
    selected = Fragment.of(scanned.order_by(*order).values_list(*spec.columns)[: page.limit + 1])
    direction = "DESC" if scan_descending else "ASC"
    presented = "DESC" if backwards else "ASC"
    known = cursor.matched if cursor is not None else None
    if count and known is None:
        matched = "(SELECT count(*) FROM (" + Fragment.of(rows.order_by().values("id")) + ") AS matched)"
        if counted is not None:
            # COALESCE stops at the first value, so the count's scan only runs when the cells cannot say.
            matched = "coalesce(" + counted + ", " + matched + ")"
    else:
        matched = Fragment("%s::bigint", (known,))
    keys = f"json_build_array({alias}.{key}, {alias}.id)::text"
    sql = (
        f"WITH {alias} AS MATERIALIZED (SELECT s.*, row_number() OVER (ORDER BY s.{key} {direction}, s.id {direction})"
        + " AS n FROM ("
        + selected
        + ") AS s) SELECT "
        + matched
        + ", count(*), coalesce(json_agg("
        + spec.feature
        + Fragment(f" ORDER BY {alias}.n {presented}) FILTER (WHERE {alias}.n <= %s), '[]')::text, ", (page.limit,))
        + f"min({keys}) FILTER (WHERE {alias}.n = 1), "
        + Fragment(f"min({keys}) FILTER (WHERE {alias}.n = %s) ", (page.limit,))
        + f"FROM {alias} "
        + spec.joins
    )
    with read_connection().cursor() as db:
        db.execute(sql.sql, sql.params)
        matched_count, fetched, features, near, far = db.fetchone()
    has_more = fetched > page.limit
    near_cursor = _cursor(page, near, matched_count, backwards=not backwards) if near else None
    far_cursor = _cursor(page, far, matched_count, backwards=backwards) if far and has_more else None
    if backwards:
        # Going back: the far end is the previous page; the near end leads forward again.
        next_cursor, prev_cursor = near_cursor, far_cursor
    else:
        next_cursor, prev_cursor = far_cursor, (near_cursor if cursor is not None else None)
    return Page(
        matched=matched_count,
        returned=min(fetched, page.limit),
        features=features.encode(),
        next=next_cursor,
        prev=prev_cursor,
    )


def _cursor(page: PageRequest, key_json: str, matched: int | None, *, backwards: bool) -> Cursor:
    key, pk = json.loads(key_json)
    if page.sort_field == "occurred_on":
        key = dt.date.fromisoformat(key)
    return Cursor(ordering=page.ordering, backwards=backwards, key=key, id=pk, matched=matched)


def incident_page(
    incidents: QuerySet, page: PageRequest, *, count: bool = True, counted: Fragment | None = None
) -> Page:
    return feature_page(incidents, page, INCIDENTS, count=count, counted=counted)


def page_links(request, page: Page, *, media_type: str = GEOJSON, extra: list[dict] | None = None) -> list[dict]:
    """self / next / prev links that repeat the request's query with the cursor swapped."""

    def href(cursor: Cursor | None) -> str:
        query = request.GET.copy()
        query.pop("cursor", None)
        if cursor is not None:
            query["cursor"] = cursor.encode()
        encoded = urlencode(list(query.lists()), doseq=True)
        return request.build_absolute_uri(request.path + (f"?{encoded}" if encoded else ""))

    links = [{"rel": "self", "href": href(_current_cursor(request)), "type": media_type}]
    links += extra or []
    if page.next is not None:
        links.append({"rel": "next", "href": href(page.next), "type": media_type, "title": "Next page"})
    if page.prev is not None:
        links.append({"rel": "prev", "href": href(page.prev), "type": media_type, "title": "Previous page"})
    return links


class _Verbatim:
    """The request's own cursor, put back into the self link as it came."""

    def __init__(self, value: str):
        self.value = value

    def encode(self) -> str:
        return self.value


def _current_cursor(request):
    value = request.GET.get("cursor")
    return _Verbatim(value) if value else None


def feature_collection(page: Page, links: list[dict], **members) -> bytes:
    """The FeatureCollection envelope around the features PostgreSQL built."""
    head = {"type": "FeatureCollection", **members}
    if page.matched is not None:
        head["numberMatched"] = page.matched
    head["numberReturned"] = page.returned
    head["links"] = links
    encoded = json.dumps(head, separators=(",", ":"), default=str).encode()
    return encoded[:-1] + b',"features":' + page.features + b"}"


# --- clusters ------------------------------------------------------------------------------------------

MAX_ZOOM = 22


def clusters(filters: IncidentFilters, visible: QuerySet, zoom: int, limit: int, *, drafts: bool) -> bytes:
    """Incidents aggregated on a grid of about 60-pixel cells: one Point per cell at its points' mean.

    The densest `limit` cells come back (numberReturned); "truncated" says whether any were left out.
    numberMatched counts every matching incident, located or not.

    Answered from the counted cells (IncidentCell) when only the box and the kinds filter, at the zoom
    levels they are kept for, and every non-empty cell lies inside the box: then the box leaves out no
    point of a cell it keeps, and the cells' figures are exactly the rows'. That is the dashboard's first,
    zoomed-out view of everything, which would otherwise count every incident. Otherwise the matching rows
    are counted, in one scan.
    """
    cell = IncidentCell.degrees(zoom)
    connection = read_connection()
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cells = _counted_cells(filters, zoom, drafts=drafts)
        if cells is not None:
            inside = "(SELECT bool_and(" + _whole_in_box(filters, zoom) + ") FROM g) IS NOT FALSE"
            sql = _cluster_collection(cells, zoom, limit, answers_if=inside)
            cursor.execute(sql.sql, sql.params)
            body = cursor.fetchone()[0]
            if body is not None:
                return body.encode()
        # The planner cannot know how few cells a zoom level has (migration 0007 gives it statistics for
        # that) and, unsure, sorts a million rows to find thirty groups: hashing them is right whatever the
        # number of cells.
        cursor.execute("SET LOCAL enable_sort = off")
        sql = _cluster_collection(_cells_of_rows(filters.apply(visible), cell), zoom, limit)
        cursor.execute(sql.sql, sql.params)
        return cursor.fetchone()[0].encode()


def counted_in_cells(filters: IncidentFilters, *, drafts: bool) -> Fragment | None:
    """How many incidents match, read off the finest counted cells: a scalar that is NULL unless the box holds
    every non-empty cell whole (see clusters()); None when the filters are not ones the cells count."""
    zoom = IncidentCell.MAX_ZOOM
    cells = _counted_cells(filters, zoom, drafts=drafts)
    if cells is None:
        return None
    return (
        "(SELECT CASE WHEN bool_and("
        + _whole_in_box(filters, zoom)
        + ") IS NOT FALSE THEN coalesce(sum(g.count), 0)::bigint END "
        + "FROM (SELECT k.x, k.y, sum(k.count) AS count FROM ("
        + cells
        + ") AS k GROUP BY k.x, k.y) AS g)"
    )


def _counted_cells(filters: IncidentFilters, zoom: int, *, drafts: bool) -> Fragment | None:
    """The counted cells that match, per (x, y, kind), when the cells can answer for these filters at all:
    only a box and kinds narrow, at a zoom the cells are kept for."""
    if zoom > IncidentCell.MAX_ZOOM or filters.bbox is None or not filters.only_place_and_kind:
        return None
    statuses = list(Incident.Status.values) if drafts else [Incident.Status.PUBLISHED.value]
    cells = Fragment(
        "SELECT c.x, c.y, c.kind, sum(c.count) AS count, sum(c.sum_lon) AS lon, sum(c.sum_lat) AS lat, "
        "sum(c.sum_id) AS ids, sum(c.casualties) AS casualties FROM events_incidentcell AS c "
        "WHERE c.zoom = %s AND c.status = ANY(%s) AND c.count > 0",
        (zoom, statuses),
    )
    if filters.kinds:
        cells += Fragment(" AND c.kind = ANY(%s)", (list(filters.kinds),))
    return cells + " GROUP BY c.x, c.y, c.kind"


def _whole_in_box(filters: IncidentFilters, zoom: int) -> Fragment:
    """Whether the cell `g` lies inside the box (strictly, so that no rounding puts a point of it outside)."""
    cell = IncidentCell.degrees(zoom)
    west, south, east, north = filters.bbox
    return Fragment(
        "g.x * %s > %s AND (g.x + 1) * %s < %s AND g.y * %s > %s AND (g.y + 1) * %s < %s",
        (cell, west, cell, east, cell, south, cell, north),
    )


def _cells_of_rows(incidents: QuerySet, cell: float) -> Fragment:
    """The matching rows counted per cell and kind, with the columns an IncidentCell has; the incidents
    without a location fall into a cell of their own (NULL x and y), which gives numberMatched in the same
    scan."""
    from posture.estimates import StX, StY

    rows = (
        incidents.order_by()
        .annotate(lon=StX("location"), lat=StY("location"))
        .values("id", "kind", "casualties_best", "lon", "lat")
    )
    # The divisor is written as migration 0007 writes it, so that the planner finds its statistics.
    return (
        Fragment("SELECT floor(r.lon / %s::float8) AS x, floor(r.lat / %s::float8) AS y, r.kind, ", (cell, cell))
        + "count(*) AS count, sum(r.lon) AS lon, sum(r.lat) AS lat, sum(r.id) AS ids, "
        + "sum(r.casualties_best) AS casualties FROM ("
        + Fragment.of(rows)
        + ") AS r GROUP BY 1, 2, 3"
    )


def _cluster_collection(cells: Fragment, zoom: int, limit: int, answers_if: Fragment | None = None) -> Fragment:
    """The FeatureCollection of the clusters, from (x, y, kind, count, lon, lat, ids, casualties) rows that
    hold sums per cell and kind; with `answers_if`, NULL unless that condition on the cells (g) holds."""
    per_category = Fragment.join(
        ", ",
        (
            Fragment(
                f"coalesce(sum(k.count) FILTER (WHERE k.kind = ANY(%s)), 0) AS {category.value}",
                ([kind.value for kind in Kind if KIND_CATEGORY[kind] == category],),
            )
            for category in Category
        ),
    )
    categories = ", ".join(f"'{c.value}', c.{c.value}" for c in Category)
    return (
        # Counted per kind first, so that the categories are read off a few hundred (cell, kind) groups
        # rather than tested on every row.
        "WITH k AS ("
        + cells
        + "), g AS MATERIALIZED (SELECT k.x, k.y, sum(k.count) AS count, sum(k.lon) / sum(k.count) AS lon, "
        + "sum(k.lat) / sum(k.count) AS lat, sum(k.ids) AS ids, coalesce(sum(k.casualties), 0) AS casualties, "
        + per_category
        + " FROM k GROUP BY k.x, k.y), "
        + "c AS (SELECT * FROM g WHERE g.x IS NOT NULL "
        + Fragment("ORDER BY g.count DESC, g.x, g.y LIMIT %s) ", (limit,))
        + "SELECT CASE WHEN "
        + (answers_if if answers_if is not None else "true")
        + " THEN json_build_object('type', 'FeatureCollection', "
        + "'numberMatched', (SELECT coalesce(sum(count), 0) FROM g), "
        + "'numberReturned', (SELECT count(*) FROM c), "
        + Fragment("'truncated', (SELECT count(*) FROM g WHERE g.x IS NOT NULL) > %s, ", (limit,))
        + Fragment("'zoom', %s, 'cellDegrees', %s, ", (zoom, IncidentCell.degrees(zoom)))
        + "'features', (SELECT coalesce(json_agg(json_build_object('type', 'Feature', 'geometry', "
        + "json_build_object('type', 'Point', 'coordinates', json_build_array(round(c.lon::numeric, 6), "
        + "round(c.lat::numeric, 6))), 'properties', json_build_object('count', c.count, 'categories', "
        + f"json_build_object({categories}), 'casualties_best', c.casualties, "
        # With one incident in the cell, the sum of the ids is its id.
        + "'incident', CASE WHEN c.count = 1 THEN c.ids END)) "
        + "ORDER BY c.count DESC, c.x, c.y), '[]'::json) FROM c))::text END"
    )
