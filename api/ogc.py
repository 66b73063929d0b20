"""OGC API – Features, Part 1: Core (OGC 17-069r4) at /ogc/, so QGIS and GDAL read bases and incidents as layers.

It adds no query logic of its own: items are the /api/v1/ collections' pages (the same IncidentQuerySet
chain from the same parameter parser, the same SQL-built Features), with OGC's `datetime` read into the
incident date range. Everything is CRS84 (longitude, latitude), as GeoJSON requires.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Max, Min, QuerySet
from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import exception_handler

from api import schema
from api.bases import BASE_ORDERINGS, BASES, base_page, base_queryset
from api.features import INCIDENTS, gone_if_retracted, incident_page
from api.filters import (
    OGC_INCIDENT_FILTER_NAMES,
    ORDERINGS,
    OgcBaseFilterSet,
    PageRequest,
    QueryReader,
    read_incident_filters,
    read_page,
)
from api.http import (
    GEOJSON,
    JSON,
    ApiView,
    FirstRenderer,
    GeoJSONRenderer,
    bytes_response,
    flatten_errors,
    unexpected_error,
)
from api.pages import FeatureSpec, Page, feature_collection, feature_page, page_links
from events.fragments import Fragment
from events.models import Incident
from ops.routers import read_connection
from posture.models import Base

OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
DEFAULT_LIMIT = 100
# `f` is accepted and ignored: JSON is the only encoding, and some clients add f=json.
COMMON_PARAMETERS = {"bbox", "datetime", "limit", "cursor", "f"}


def ogc_exception_handler(exc, context):
    """OGC's exception body ({"code", "description"}), with our per-parameter errors alongside."""
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        description = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        return Response(
            {"code": "InvalidParameterValue", "description": description, "errors": errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = exception_handler(exc, context) or unexpected_error(exc, context)
    if response is not None:
        code = {404: "NotFound", 500: "ServerError"}.get(response.status_code, type(exc).__name__)
        response.data = {"code": code, "description": str(response.data.get("detail", ""))}
    return response


class OgcView(ApiView):
    permission_classes = [AllowAny]

    def get_exception_handler(self):
        return ogc_exception_handler

    def url(self, name: str, **kwargs) -> str:
        return self.request.build_absolute_uri(reverse(name, kwargs=kwargs))


def time_stamp() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    rows: Callable[[QueryReader, object], QuerySet]
    page: Callable[[QuerySet, PageRequest], Page]
    spec: FeatureSpec
    orderings: dict
    extra_parameters: set[str]


def _incident_rows(reader: QueryReader, user) -> QuerySet:
    return read_incident_filters(reader, dates="datetime").queryset(user)


def _base_rows(reader: QueryReader, user) -> QuerySet:
    return base_queryset(reader, OgcBaseFilterSet)


COLLECTIONS = {
    "incidents": Collection(
        id="incidents",
        title="Incidents",
        description=(
            "Militia attacks on bases, US and Israeli strikes, bomber overflights, posture announcements and "
            "diplomatic moves in Iraq, Syria and around them. Filters beyond Part 1: kind, actor, country, base, "
            "q, min_casualties (as in /api/v1/incidents/)."
        ),
        rows=_incident_rows,
        page=incident_page,
        spec=INCIDENTS,
        orderings={"-occurred_on": ORDERINGS["-occurred_on"]},
        extra_parameters=OGC_INCIDENT_FILTER_NAMES - {"bbox", "datetime"},
    ),
    "bases": Collection(
        id="bases",
        title="Bases",
        description="Bases and other sites used by foreign forces, with current status and troop levels.",
        rows=_base_rows,
        page=base_page,
        spec=BASES,
        orderings=BASE_ORDERINGS,
        extra_parameters={"country"},
    ),
}


def _collection(collection_id: str) -> Collection:
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise exceptions.NotFound(f"There is no collection {collection_id!r}; see /ogc/collections.") from None


def _extent(collection: Collection, user) -> dict | None:
    """Spatial and temporal extent of what `user` may see: published incidents, and drafts too for editors.

    Never from table statistics (ST_EstimatedExtent), which see every row, drafts included.
    """
    if collection.id == "incidents":
        rows = Incident.objects.visible_to(user)
        dates = rows.aggregate(start=Min("occurred_on"), end=Max("occurred_on"))
        sql = _incident_bbox(rows)
    else:
        # A few hundred rows, all public: their exact extent costs nothing.
        located = Fragment.of(Base.objects.filter(location__isnull=False).order_by().values("location"))
        sql = (
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(b.location) AS e FROM ("
            + located
            + ") AS b) AS extent"
        )
        dates = {"start": None, "end": None}
    with read_connection().cursor() as cursor:
        cursor.execute(sql.sql, sql.params)
        box = cursor.fetchone()
    extent: dict = {}
    if box and box[0] is not None:
        extent["spatial"] = {"bbox": [[round(v, 6) for v in box]], "crs": CRS84}
    if dates["start"] is not None:
        extent["temporal"] = {
            "interval": [[f"{dates['start']:%Y-%m-%d}T00:00:00Z", f"{dates['end']:%Y-%m-%d}T23:59:59Z"]],
            "trs": GREGORIAN,
        }
    return extent or None


def _incident_bbox(rows: QuerySet) -> Fragment:
    """The exact (west, south, east, north) of the located `rows`, from four walks down the spatial index.

    Each edge is the nearest row to a line along that edge of the world (`<->`, a KNN index scan): from the
    meridian at -180 a point lies at 180 + its longitude, so the nearest one is the westernmost, and so on. Four
    rows are read, and the ones `rows` leaves out (drafts) are stepped over on the way, so the box is exact and
    current whatever the table holds, where the table's statistics (ST_EstimatedExtent) would count drafts.
    """
    located = Fragment.of(rows.filter(location__isnull=False).order_by().values("location"))
    edges = [
        ("X", "-180 -90, -180 90"),
        ("Y", "-180 -90, 180 -90"),
        ("X", "180 -90, 180 90"),
        ("Y", "-180 90, 180 90"),
    ]
    return "SELECT " + Fragment.join(
        ", ",
        [
            f"(SELECT ST_{axis}(v.location) FROM ("
            + located
            + f") AS v ORDER BY v.location <-> 'SRID=4326;LINESTRING({line})'::geometry LIMIT 1)"
            for axis, line in edges
        ],
    )


@schema.ogc_landing
class LandingView(OgcView):
    query_parameters = {"f"}

    def get(self, request):
        self.reader(request).check()
        return Response(
            {
                "title": "Force Posture Dashboard",
                "description": "Bases and incidents around foreign forces in Iraq and Syria, as OGC API – Features.",
                "links": [
                    {"rel": "self", "type": JSON, "title": "This document", "href": self.url("ogc-landing")},
                    {
                        "rel": "service-desc",
                        "type": OPENAPI,
                        "title": "The API definition",
                        "href": self.url("ogc-api"),
                    },
                    {
                        "rel": "service-doc",
                        "type": "text/html",
                        "title": "The API documentation",
                        "href": self.url("api-docs"),
                    },
                    {
                        "rel": "conformance",
                        "type": JSON,
                        "title": "Conformance classes",
                        "href": self.url("ogc-conformance"),
                    },
                    {
                        "rel": "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                        "type": JSON,
                        "title": "Conformance classes",
                        "href": self.url("ogc-conformance"),
                    },
                    {"rel": "data", "type": JSON, "title": "Collections", "href": self.url("ogc-collections")},
                    {
                        "rel": "http://www.opengis.net/def/rel/ogc/1.0/data",
                        "type": JSON,
                        "title": "Collections",
                        "href": self.url("ogc-collections"),
                    },
                ],
            }
        )


@extend_schema(exclude=True)
class LandingAliasView(LandingView):
    """/ogc without the slash, as GDAL and QGIS are given the root: the same page, documented once."""


@schema.ogc_conformance
class ConformanceView(OgcView):
    query_parameters = {"f"}

    def get(self, request):
        self.reader(request).check()
        return Response({"conformsTo": CONFORMANCE})


class CollectionDescription:
    def describe(self, collection: Collection) -> dict:
        items = self.url("ogc-items", collection_id=collection.id)
        description = {
            "id": collection.id,
            "title": collection.title,
            "description": collection.description,
            "itemType": "feature",
            "crs": [CRS84],
            "links": [
                {
                    "rel": "self",
                    "type": JSON,
                    "title": collection.title,
                    "href": self.url("ogc-collection", collection_id=collection.id),
                },
                {"rel": "items", "type": GEOJSON, "title": f"{collection.title} as GeoJSON", "href": items},
            ],
        }
        extent = _extent(collection, self.request.user)
        if extent:
            description["extent"] = extent
        return description


@schema.ogc_collections
class CollectionsView(CollectionDescription, OgcView):
    query_parameters = {"f"}

    def get(self, request):
        self.reader(request).check()
        return Response(
            {
                "links": [
                    {"rel": "self", "type": JSON, "title": "Collections", "href": self.url("ogc-collections")},
                ],
                "collections": [self.describe(collection) for collection in COLLECTIONS.values()],
            }
        )


@schema.ogc_collection
class CollectionView(CollectionDescription, OgcView):
    query_parameters = {"f"}

    def get(self, request, collection_id: str):
        collection = _collection(collection_id)
        self.reader(request).check()
        return Response(self.describe(collection))


@schema.ogc_items
class ItemsView(OgcView):
    versioned = True

    def get(self, request, collection_id: str):
        collection = _collection(collection_id)
        self.query_parameters = COMMON_PARAMETERS | collection.extra_parameters
        reader = self.reader(request)
        rows = collection.rows(reader, request.user)
        page = read_page(reader, default_limit=DEFAULT_LIMIT, orderings=collection.orderings)
        reader.check()
        if early := self.not_modified(request):
            return early
        result = collection.page(rows, page)
        links = page_links(
            request,
            result,
            extra=[
                {
                    "rel": "collection",
                    "type": JSON,
                    "title": collection.title,
                    "href": self.url("ogc-collection", collection_id=collection.id),
                }
            ],
        )
        # timeStamp says when the response was made; the ETag is the data's, so a stored answer keeps its own.
        return bytes_response(feature_collection(result, links, timeStamp=time_stamp()), GEOJSON)


@schema.ogc_item
class ItemView(OgcView):
    renderer_classes = [GeoJSONRenderer]
    query_parameters = {"f"}

    def get(self, request, collection_id: str, feature_id: str):
        collection = _collection(collection_id)
        self.reader(request).check()
        if not feature_id.isdigit() or len(feature_id) > 18:
            raise exceptions.NotFound(f"There is no feature {feature_id!r} in {collection.id}.")
        rows = collection.rows(QueryReader(QueryDict()), request.user).filter(pk=int(feature_id))
        only = PageRequest(ordering=next(iter(collection.orderings)), limit=1, sort_field="id", descending=False)
        result = feature_page(rows, only, collection.spec, count=False)
        if not result.returned:
            if collection.id == "incidents":
                gone_if_retracted(int(feature_id))
            raise exceptions.NotFound(f"There is no feature {feature_id} in {collection.id}.")
        (feature,) = json.loads(result.features)
        feature["links"] = [
            {
                "rel": "self",
                "type": GEOJSON,
                "title": "This feature",
                "href": self.url("ogc-item", collection_id=collection.id, feature_id=feature_id),
            },
            {
                "rel": "collection",
                "type": JSON,
                "title": collection.title,
                "href": self.url("ogc-collection", collection_id=collection.id),
            },
        ]
        return Response(feature)


@schema.ogc_api
class ApiDefinitionView(SpectacularAPIView):
    """The OpenAPI document with the media type OGC clients ask for (GDAL checks the version parameter)."""

    class Renderer(OpenApiJsonRenderer):
        media_type = OPENAPI

    renderer_classes = [Renderer]
    # DRF would match the version parameter against Accept and answer curl's */* with 406.
    content_negotiation_class = FirstRenderer
