"""The building blocks of the bodies PostgreSQL builds: pages of Features, their keyset cursors and links, the
FeatureCollection envelope, and the prepared single-row statements.

A page of features is one SQL statement: Django compiles the filtered, ordered and limited QuerySet (the one
query layer), and PostgreSQL turns the rows into Feature objects with ST_AsGeoJSON and json_build_object and
aggregates them with json_agg. Python only glues the aggregate's bytes into the FeatureCollection envelope, so
no model instance is ever built for a collection.

Pages are cut by keyset (the sort key and id of the last row) rather than by offset, so the thousandth page
costs what the first does, and rows are neither skipped nor repeated when the order has ties.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import Q, QuerySet

from api.filters import Cursor, PageRequest, sort_key
from api.http import GEOJSON
from events.fragments import Fragment
from ops.routers import read_connection

COORDINATE_DECIMALS = 6  # about 0.1 m: more than any source's precision


NEVER_UNASKED = 2**31 - 1  # executions before psycopg would prepare a statement by itself


class _PreparingCursor(ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


def fetch_prepared(db, sql: str, params) -> tuple | None:
    """One row of a statement that is planned once per connection and then only run.

    Django binds parameters client side and turns psycopg's preparing off (for transaction-mode poolers,
    which this stack has none of). For an incident's detail at 1M rows planning took 1.7 ms and running it
    0.5 ms, so the hot single-row reads take a server-bound cursor that prepares, and the connection is told
    to allow it (PostgreSQL then settles on a generic plan: 0.7 ms a detail, from 2.2). The statement returns
    one text column, so a migration cannot change its result type under a prepared plan. The cursor goes
    through Django's wrappers: errors, timeouts and query logging (the tests' query counts) are as for any
    other.
    """
    db.ensure_connection()
    if db.connection.prepare_threshold is None:
        # Django's default, which makes psycopg ignore prepare=True. Django's own cursors bind client side and
        # are never prepared whatever this says; this one asks each time, so nothing is prepared unasked.
        db.connection.prepare_threshold = NEVER_UNASKED
    raw = _PreparingCursor(db.connection)
    with db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def geometry(alias: str, column: str = "location") -> str:
    return f"ST_AsGeoJSON({alias}.{column}, {COORDINATE_DECIMALS})::json"


@dataclass(frozen=True)
class FeatureSpec:
    """How a table's rows become Features: the columns the page selects (a CTE named `alias`), the Feature
    expression over them, and the joins it needs (which may read the CTE again)."""

    alias: str
    columns: list[str]
    feature: Fragment
    joins: Fragment


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
    plain, pk = json.loads(key_json)
    key = sort_key(page.sort_field, plain)
    return Cursor(ordering=page.ordering, backwards=backwards, key=key, id=pk, matched=matched)


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
