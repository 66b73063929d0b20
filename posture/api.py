"""/api/v1/ endpoints for bases, troop-level observations (deployments), actors and sources."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, DjangoModelPermissionsOrAnonReadOnly

from events.api import docs
from events.api.geojson import (
    GEOJSON,
    FeatureSpec,
    Page,
    feature_collection,
    feature_page,
    geometry,
    labels_json,
)
from events.api.http import ApiMixin, ApiView, bytes_response, json_body
from events.api.params import PageRequest, QueryReader
from events.api.serializers import SourceDetailSerializer, SourceSerializer
from posture.countries import COUNTRY_CHOICES, country_name
from posture.models import Actor, Base, BaseStatus, Source, TroopLevel

COUNTRY_NAMES = labels_json((code, country_name(code)) for code, _ in COUNTRY_CHOICES)
BASE_KINDS = labels_json(Base.Kind.choices)
BASE_STATUSES = labels_json(BaseStatus.Status.choices)
TROOP_STATUSES = labels_json(TroopLevel.Status.choices)

# The newest observation per contributor, host country and status at the base: the SQL twin of
# TroopLevelQuerySet.latest_per_series(), with the same tie-breaks. The label is TroopLevel.label().
TROOP_LEVEL = (
    "json_build_object('id', t.id, 'contributor', json_build_object('slug', t.slug, 'name', t.name), "
    "'host_country', t.host_country, 'low', t.low, 'best', t.best, 'high', t.high, 'figure', t.figure, "
    "'qualifier', t.qualifier, 'label', CASE t.qualifier "
    f"WHEN '{TroopLevel.Qualifier.ABOUT.value}' THEN '~' || to_char(t.figure, 'FM999,999,999,990') "
    f"WHEN '{TroopLevel.Qualifier.AT_LEAST.value}' THEN to_char(t.figure, 'FM999,999,999,990') || '+' "
    f"WHEN '{TroopLevel.Qualifier.UP_TO.value}' THEN 'up to ' || to_char(t.figure, 'FM999,999,999,990') "
    "ELSE to_char(t.figure, 'FM999,999,999,990') END, "
    "'status', t.status, 'status_label', " + TROOP_STATUSES + " ->> t.status, "
    "'as_of', t.as_of, 'reported_on', t.reported_on, 'mission', t.mission)"
)

BASE_FEATURE = (
    "json_build_object('type', 'Feature', 'id', b.id, 'geometry', "
    + geometry("b")
    + ", 'properties', json_build_object('id', b.id, 'name', b.name, 'slug', b.slug, "
    + "'alternate_names', to_json(b.alternate_names), 'country', b.country, 'country_name', "
    + COUNTRY_NAMES
    + " ->> b.country, 'kind', b.kind, 'kind_label', "
    + BASE_KINDS
    + " ->> b.kind, 'status', st.status, 'status_label', "
    + BASE_STATUSES
    + " ->> st.status, 'users', coalesce(u.users, '[]'::json), 'troop_levels', coalesce(tl.levels, '[]'::json)))"
)

BASE_JOINS = (
    """LEFT JOIN LATERAL (
        SELECT s.status FROM posture_basestatus s
        WHERE s.base_id = b.id AND s.start_on <= current_date AND (s.end_on IS NULL OR s.end_on >= current_date)
        ORDER BY s.start_on DESC LIMIT 1
    ) AS st ON true
    LEFT JOIN LATERAL (
        SELECT json_agg(json_build_object('slug', a.slug, 'name', a.name) ORDER BY a.name) AS users
        FROM posture_base_users bu JOIN posture_actor a ON a.id = bu.actor_id WHERE bu.base_id = b.id
    ) AS u ON true
    LEFT JOIN LATERAL (
        SELECT json_agg("""
    + TROOP_LEVEL
    + """ ORDER BY t.name, t.status) AS levels
        FROM (
            SELECT DISTINCT ON (t.contributor_id, t.host_country, t.status)
                t.*, coalesce(t.best, t.low, t.high) AS figure, a.slug, a.name
            FROM posture_trooplevel t JOIN posture_actor a ON a.id = t.contributor_id
            WHERE t.base_id = b.id
            ORDER BY t.contributor_id, t.host_country, t.status, t.as_of DESC, t.reported_on DESC, t.id DESC
        ) AS t
    ) AS tl ON true"""
)
# Bases page by id; there are tens of them, not millions.
BASE_ORDERINGS = {"id": ("id", False)}

BASE_SOURCES = [
    (Base.history.model._meta.db_table, "history_date"),
    (BaseStatus.history.model._meta.db_table, "history_date"),
    (TroopLevel.history.model._meta.db_table, "history_date"),
    (Actor.history.model._meta.db_table, "history_date"),
]


def base_queryset(reader: QueryReader) -> QuerySet:
    bases = Base.objects.all()
    bbox = reader.bbox("bbox", allow_3d=True)
    if bbox is not None:
        from django.contrib.gis.geos import Polygon

        bases = bases.filter(location__coveredby=Polygon.from_bbox(bbox))
    country = reader.one("country")
    if country is not None:
        country = country.upper()
        if country not in dict(COUNTRY_CHOICES):
            reader.error("country", "Give an ISO 3166-1 alpha-3 country code, such as IRQ or SYR.")
        else:
            bases = bases.filter(country=country)
    return bases


BASES = FeatureSpec(
    alias="b",
    columns=["id", "name", "slug", "alternate_names", "location", "country", "kind"],
    feature=BASE_FEATURE,
    joins=BASE_JOINS,
)


def base_page(bases: QuerySet, page: PageRequest) -> Page:
    return feature_page(bases, page, BASES)


@docs.bases
class BaseCollectionView(ApiView):
    permission_classes = [AllowAny]
    query_parameters = {"bbox", "country"}
    last_modified_tables = BASE_SOURCES

    def get(self, request):
        reader = self.reader(request)
        bases = base_queryset(reader)
        reader.check()
        if early := self.not_modified(request):
            return early
        # Every base in one collection: the map shows them all, and there are few.
        result = base_page(bases, PageRequest(ordering="id", limit=100_000, sort_field="id", descending=False))
        return bytes_response(feature_collection(result, []), GEOJSON)


# --- JSON lists ----------------------------------------------------------------------------------------


class ListPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class ActorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Actor
        fields = ["id", "slug", "name", "kind", "country", "aliases"]


class TroopLevelSerializer(serializers.ModelSerializer):
    contributor = serializers.SerializerMethodField()
    host_country_name = serializers.SerializerMethodField()
    figure = serializers.IntegerField(read_only=True)
    label = serializers.CharField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    sources = SourceSerializer(many=True, read_only=True)

    class Meta:
        model = TroopLevel
        fields = [
            "id",
            "contributor",
            "host_country",
            "host_country_name",
            "base",
            "low",
            "best",
            "high",
            "figure",
            "qualifier",
            "label",
            "status",
            "status_label",
            "as_of",
            "reported_on",
            "mission",
            "note",
            "sources",
        ]

    def get_contributor(self, level: TroopLevel) -> dict:
        return {"slug": level.contributor.slug, "name": level.contributor.name}

    def get_host_country_name(self, level: TroopLevel) -> str:
        return country_name(level.host_country)


class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    def __init__(self, **kwargs):
        super().__init__(choices=[("true", "true"), ("false", "false")], coerce=lambda v: v == "true", **kwargs)


class DeploymentFilter(django_filters.FilterSet):
    contributor = django_filters.CharFilter(field_name="contributor__slug", help_text="The contributor's slug.")
    host_country = django_filters.ChoiceFilter(choices=COUNTRY_CHOICES, help_text="ISO 3166-1 alpha-3.")
    status = django_filters.ChoiceFilter(choices=TroopLevel.Status.choices)
    as_of_after = django_filters.DateFilter(field_name="as_of", lookup_expr="gte", help_text="From this day on.")
    as_of_before = django_filters.DateFilter(field_name="as_of", lookup_expr="lte", help_text="Up to this day.")
    latest = StrictBooleanFilter(
        method="latest_only", help_text="Only the latest observation per contributor × host country × status."
    )

    class Meta:
        model = TroopLevel
        fields = ["contributor", "host_country", "status", "as_of_after", "as_of_before", "latest"]

    @extend_schema_field(OpenApiTypes.BOOL)
    def latest_only(self, queryset, name, value):
        return queryset.latest_per_series() if value else queryset


@docs.deployments
class DeploymentViewSet(ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Troop-level observations: how many troops each contributor has in a host country (or at a base)."""

    permission_classes = [DjangoModelPermissionsOrAnonReadOnly]
    serializer_class = TroopLevelSerializer
    pagination_class = ListPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = DeploymentFilter
    lookup_value_regex = "[0-9]+"
    query_parameters = {"contributor", "host_country", "status", "as_of_after", "as_of_before", "latest", "page"}
    query_parameters |= {"page_size"}
    last_modified_tables = [
        (TroopLevel.history.model._meta.db_table, "history_date"),
        (Actor.history.model._meta.db_table, "history_date"),
    ]

    def get_queryset(self):
        return (
            TroopLevel.objects.select_related("contributor")
            .prefetch_related("sources")
            .order_by("contributor__name", "host_country", "status", "as_of", "id")
        )

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.reader(request).check()


@docs.actors
class ActorViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [AllowAny]
    serializer_class = ActorSerializer
    pagination_class = ListPagination
    lookup_value_regex = "[0-9]+"
    query_parameters = {"page", "page_size"}
    last_modified_tables = [(Actor.history.model._meta.db_table, "history_date")]

    def get_queryset(self):
        return Actor.objects.order_by("name")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.reader(request).check()


@docs.sources
class SourceViewSet(ApiMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Citations. Editors may add one (POST) to cite it from a new incident or link."""

    permission_classes = [DjangoModelPermissionsOrAnonReadOnly]
    pagination_class = ListPagination
    lookup_value_regex = "[0-9]+"
    query_parameters = {"page", "page_size"}
    last_modified_tables = [(Source.history.model._meta.db_table, "history_date")]

    def get_queryset(self):
        return Source.objects.order_by("publisher", "title", "id")

    def get_serializer_class(self):
        return SourceDetailSerializer if self.action in ("create", "retrieve") else SourceSerializer

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.reader(request).check()

    def create(self, request, *args, **kwargs):
        json_body(request)
        return super().create(request, *args, **kwargs)
