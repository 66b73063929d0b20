"""Incident counts and casualties per day, week or month and kind, computed by PostgreSQL."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from rest_framework.permissions import AllowAny

from api import schema
from api.filters import INCIDENT_FILTER_NAMES, read_incident_filters
from api.http import ApiView, bytes_response
from events.fragments import Fragment
from events.models import Kind
from ops.routers import read_connection

BUCKETS = {"day": "1 day", "week": "1 week", "month": "1 month"}


def timeline(incidents: QuerySet, bucket: str) -> bytes:
    """{"bucket", "kinds": [codes present], "buckets": [{"start", "counts": {kind: n}, "total", ...}]}.

    Every bucket from the first to the last appears, empty ones with zeros, so a chart needs no gap filling.
    Weeks start on Monday (ISO 8601), as date_trunc has them.
    """
    rows = Fragment.of(incidents.order_by().values("occurred_on", "kind", "casualties_best", "fatalities_best"))
    sql = (
        Fragment(
            # Truncated as a timestamp without time zone: the same day, without converting every row's date
            # to the session's time zone and back.
            "WITH counted AS MATERIALIZED (SELECT date_trunc(%s, r.occurred_on::timestamp)::date AS start, r.kind, "
            "count(*) AS n, sum(r.casualties_best) AS casualties, sum(r.fatalities_best) AS fatalities FROM (",
            (bucket,),
        )
        + rows
        + Fragment(
            ") AS r GROUP BY 1, 2), "
            "series AS (SELECT generate_series(min(start)::timestamp, max(start)::timestamp, %s::interval)::date"
            " AS start FROM counted), ",
            (BUCKETS[bucket],),
        )
        + "filled AS (SELECT s.start, "
        + Fragment(
            "coalesce(json_object_agg(c.kind, c.n ORDER BY array_position(%s::text[], c.kind::text))"
            " FILTER (WHERE c.kind IS NOT NULL), '{}'::json) AS counts, ",
            (list(Kind.values),),
        )
        + "coalesce(sum(c.n), 0) AS total, coalesce(sum(c.casualties), 0) AS casualties, "
        + "coalesce(sum(c.fatalities), 0) AS fatalities "
        + "FROM series s LEFT JOIN counted c ON c.start = s.start GROUP BY s.start) "
        + Fragment("SELECT json_build_object('bucket', %s, 'kinds', ", (bucket,))
        + Fragment(
            "(SELECT coalesce(json_agg(k.kind ORDER BY array_position(%s::text[], k.kind::text)), '[]'::json)"
            " FROM (SELECT DISTINCT kind FROM counted) AS k), ",
            (list(Kind.values),),
        )
        + "'buckets', (SELECT coalesce(json_agg(json_build_object('start', f.start, 'counts', f.counts, "
        + "'total', f.total, 'casualties', f.casualties, 'fatalities', f.fatalities) ORDER BY f.start), '[]'::json)"
        + " FROM filled AS f))::text"
    )
    connection = read_connection()
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # A few thousand (bucket, kind) groups out of up to a million rows: hashing them beats the sort the
        # planner picks when it cannot tell how few buckets there are (see clusters()).
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(sql.sql, sql.params)
        return cursor.fetchone()[0].encode()


@schema.timeline
class TimelineView(ApiView):
    permission_classes = [AllowAny]
    query_parameters = INCIDENT_FILTER_NAMES | {"bucket"}
    versioned = True

    def get(self, request):
        reader = self.reader(request)
        filters = read_incident_filters(reader)
        bucket = reader.choice("bucket", list(BUCKETS), default="week")
        reader.check()
        if early := self.not_modified(request):
            return early
        body = timeline(filters.queryset(request.user), bucket)
        return bytes_response(body, "application/json")
