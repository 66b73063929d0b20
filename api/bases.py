"""Bases as GeoJSON, built by PostgreSQL like the incidents, with today's status and troop levels."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.permissions import AllowAny

from api import schema
from api.filters import (
    MAX_LIMIT,
    BaseFilterSet,
    PageRequest,
    QueryReader,
    read_page,
)
from api.http import GEOJSON, ApiView, bytes_response
from api.pages import FeatureSpec, Page, feature_collection, feature_page, geometry, page_links
from events.fragments import labels_json
from posture.countries import COUNTRY_CHOICES, country_name
from posture.models import Base, BaseStatus, TroopLevel

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


def base_queryset(reader: QueryReader, filterset_class: type[BaseFilterSet] = BaseFilterSet) -> QuerySet:
    return filterset_class.read(reader, Base.objects.all()).qs


BASES = FeatureSpec(
    alias="b",
    columns=["id", "name", "slug", "alternate_names", "location", "country", "kind"],
    feature=BASE_FEATURE,
    joins=BASE_JOINS,
)


def base_page(bases: QuerySet, page: PageRequest) -> Page:
    return feature_page(bases, page, BASES)


@schema.bases
class BaseCollectionView(ApiView):
    permission_classes = [AllowAny]
    query_parameters = BaseFilterSet.parameter_names() | {"limit", "cursor"}
    versioned = True

    def get(self, request):
        reader = self.reader(request)
        bases = base_queryset(reader)
        # The map shows every base in one collection (there are tens); `limit` pages a larger set.
        page = read_page(reader, default_limit=MAX_LIMIT, orderings=BASE_ORDERINGS)
        reader.check()
        if early := self.not_modified(request):
            return early
        result = base_page(bases, page)
        links = page_links(request, result) if result.next or result.prev else []
        return bytes_response(feature_collection(result, links), GEOJSON)
