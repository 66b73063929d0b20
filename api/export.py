"""Downloads of every incident that matches a query: CSV in ACLED's columns, and GeoJSON.

Both stream: the CSV is written by PostgreSQL's COPY ... TO STDOUT and passed on block by block; the
GeoJSON is the API's own pages (built by the database) strung together. Neither holds the whole export in
memory, so a million rows download like a hundred.

CSV columns, ACLED's names first (https://acleddata.com/acleddatanew/wp-content/uploads/dlm_uploads/2023/06/
ACLED_Codebook_2023.pdf), then ours. The import of ACLED-style files reads this format back.

    event_id_cnty   external_id when the row came from a dataset, else FPD<id>
    event_date      YYYY-MM-DD
    time_precision  1 day, 2 week, 3 month
    event_type, sub_event_type   ACLED's, from the kind
    actor1, assoc_actor_1        the first attacker by name; the others, "; "-separated
    actor2, assoc_actor_2        the same for targets
    iso             ISO 3166-1 numeric code, as ACLED
    country         English country name
    admin1, location (place name), latitude, longitude (6 decimals), geo_precision (1-3)
    source          publishers, "; "-separated
    notes           the summary
    fatalities      best estimate of people killed
    timestamp       last change, Unix seconds
    id, dataset, external_id, country_iso3, kind, category, title, date_label, attribution, claimed_by,
    base, base_name, weapon, munitions, casualties_best, status, source_urls (space-separated)
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json

import pycountry
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from api.features import incident_page
from api.filters import MAX_LIMIT, PageRequest
from api.http import GEOJSON
from events.fragments import Fragment, labels_json
from events.models import ACLED_TYPES, Kind
from events.properties import PROPERTIES
from ops.routers import read_connection

EVENT_TYPES = labels_json((kind.value, ACLED_TYPES[kind][0]) for kind in Kind)
SUB_EVENT_TYPES = labels_json((kind.value, ACLED_TYPES[kind][1]) for kind in Kind)
COUNTRY_NAMES = labels_json((c.alpha_3, getattr(c, "common_name", None) or c.name) for c in pycountry.countries)
COUNTRY_NUMBERS = labels_json((c.alpha_3, int(c.numeric)) for c in pycountry.countries)


def _own(name: str) -> Fragment:
    """Our column `name`, as the Features compute the property of that name."""
    return Fragment.join("", [PROPERTIES[name].sql, f" AS {name}"])


CSV_COLUMNS = Fragment.join(
    ", ",
    [
        "coalesce(nullif(i.external_id, ''), 'FPD' || i.id) AS event_id_cnty",
        "i.occurred_on AS event_date",
        "i.date_precision AS time_precision",
        EVENT_TYPES + " ->> i.kind AS event_type",
        SUB_EVENT_TYPES + " ->> i.kind AS sub_event_type",
        "i.attacker_names[1] AS actor1",
        "array_to_string(i.attacker_names[2:], '; ') AS assoc_actor_1",
        "i.target_names[1] AS actor2",
        "array_to_string(i.target_names[2:], '; ') AS assoc_actor_2",
        COUNTRY_NUMBERS + " ->> i.country AS iso",
        COUNTRY_NAMES + " ->> i.country AS country",
        "i.admin1",
        "i.place_name AS location",
        "round(ST_Y(i.location)::numeric, 6) AS latitude",
        "round(ST_X(i.location)::numeric, 6) AS longitude",
        "i.geo_precision",
        "src.publishers AS source",
        "i.summary AS notes",
        "i.fatalities_best AS fatalities",
        "extract(epoch FROM i.updated_at)::bigint AS timestamp",
        *(_own(name) for name in ("id", "dataset", "external_id")),
        "i.country AS country_iso3",
        *(_own(name) for name in ("kind", "category", "title", "date_label", "attribution")),
        "array_to_string(i.claimant_names, '; ') AS claimed_by",
        *(_own(name) for name in ("base", "base_name", "weapon", "munitions", "casualties_best", "status")),
        "src.urls AS source_urls",
    ],
)

CSV_JOINS = Fragment(
    """JOIN events_incident AS i ON i.id = page.id
    LEFT JOIN posture_base AS b ON b.id = i.base_id
    LEFT JOIN LATERAL (
        SELECT string_agg(s.publisher, '; ' ORDER BY s.publisher, s.title) AS publishers,
               string_agg(nullif(s.url, ''), ' ' ORDER BY s.publisher, s.title) AS urls
        FROM events_incident_sources x JOIN posture_source s ON s.id = x.source_id
        WHERE x.incident_id = i.id
    ) AS src ON true"""
)


def _filename(extension: str) -> str:
    return f'attachment; filename="incidents-{dt.date.today():%Y%m%d}.{extension}"'


def csv_download(incidents: QuerySet, page: PageRequest) -> StreamingHttpResponse:
    key = page.sort_field
    order = [f"-{key}", "-pk"] if page.descending else [key, "pk"]
    ids = Fragment.of(incidents.order_by(*order).values_list("id", key))
    direction = "DESC" if page.descending else "ASC"
    sql = (
        "COPY (SELECT "
        + CSV_COLUMNS
        + " FROM ("
        + ids
        + ") AS page "
        + CSV_JOINS
        + f" ORDER BY page.{key} {direction}, page.id {direction}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    )

    # Chosen now: the rows stream after the view has returned, outside the request's routing.
    db = read_connection()

    def blocks():
        with transaction.atomic(using=db.alias), db.cursor() as cursor:
            # The value is checked by settings (env_duration): SET takes no parameters.
            cursor.execute(f"SET LOCAL statement_timeout = '{settings.EXPORT_STATEMENT_TIMEOUT}'")
            # The psycopg cursor itself: Django's debug wrapper takes no COPY parameters.
            with cursor.cursor.copy(sql.sql, sql.params) as copy:
                for block in copy:
                    yield bytes(block)

    # Started here, inside the view: a database that is down then gets the same 503 as any other request
    # (ops.middleware), instead of failing a response whose 200 has already gone out.
    stream = blocks()
    first = next(stream, b"")

    def body():
        # The COPY and its transaction stay open between blocks. Django closes this generator when the
        # response ends, also when the client goes away mid-download: that ends them then and there.
        with contextlib.closing(stream):
            yield first
            yield from stream

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _filename("csv")
    return response


def geojson_download(incidents: QuerySet, page: PageRequest, self_url: str) -> StreamingHttpResponse:
    """Every match in one FeatureCollection with the list's members (so it keeps to the list's schema), the
    counts written after the features, once they are known."""
    request = PageRequest(
        ordering=page.ordering, limit=MAX_LIMIT, sort_field=page.sort_field, descending=page.descending
    )
    # The first page is read here, inside the view, for the reason csv_download starts its COPY early.
    result = incident_page(incidents, request, count=False)
    # The later pages are read as the response streams, after ReplicaReadsMiddleware has put its routing
    # back: read in the view's context, they go where the first page went (the replica, when there is one).
    routing = contextvars.copy_context()

    def chunks(result):
        yield b'{"type":"FeatureCollection","features":['
        first = True
        total = 0
        while True:
            total += result.returned
            if result.returned:
                yield (b"" if first else b",") + result.features[1:-1]
                first = False
            if result.next is None:
                break
            request = PageRequest(
                ordering=page.ordering,
                limit=MAX_LIMIT,
                cursor=result.next,
                sort_field=page.sort_field,
                descending=page.descending,
            )
            result = routing.run(incident_page, incidents, request, count=False)
        links = [{"rel": "self", "href": self_url, "type": GEOJSON}]
        tail = {"numberMatched": total, "numberReturned": total, "links": links}
        yield b"]," + json.dumps(tail, separators=(",", ":")).encode()[1:]

    response = StreamingHttpResponse(chunks(result), content_type=GEOJSON)
    response["Content-Disposition"] = _filename("geojson")
    return response
