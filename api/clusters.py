"""Map clusters: incidents counted on a grid of about 60-pixel cells, from the counted cells when they know."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from api.filters import IncidentFilters
from events.fragments import Fragment
from events.models import (
    KIND_CATEGORY,
    Category,
    IncidentCell,
    Kind,
    listed_statuses,
)
from ops.routers import read_connection

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
    statuses = listed_statuses(drafts)
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
