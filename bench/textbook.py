"""The textbook implementation of the incident endpoints, kept as the baseline the API is measured against.

What the DRF and drf-gis documentation teach: a GeoFeatureModelSerializer over model instances, django-filter
for the filters, drf-gis's InBBoxFilter and GeoJsonPagination, and select_related / prefetch_related in
get_queryset as the DRF docs recommend (so the baseline is not a strawman with N+1 queries). Each Feature is
built in Python from a model instance. Mounted only by bench/urls.py, never by the site.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import rest_framework_gis
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django_filters import rest_framework as filters
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.apps import AppConfig as GisAppConfig
from rest_framework_gis.filters import InBBoxFilter
from rest_framework_gis.pagination import GeoJsonPagination
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from api.serializers import CasualtySerializer, InvolvementSerializer, LinkSerializer, SourceSerializer
from events.models import DatePrecision, Incident, Involvement, Kind

# drf-gis is the benchmark's alone, so it is not an installed app of the site: map GeoDjango's fields to its
# GeometryField here, as its AppConfig.ready() does when it is installed.
GisAppConfig("rest_framework_gis", rest_framework_gis).ready()


class IncidentFilter(filters.FilterSet):
    start = filters.DateFilter(field_name="occurred_on", lookup_expr="gte")
    end = filters.DateFilter(field_name="occurred_on", lookup_expr="lte")
    kind = filters.MultipleChoiceFilter(choices=Kind.choices)
    actor = filters.CharFilter(method="filter_actor")
    country = filters.CharFilter()
    base = filters.NumberFilter(field_name="base_id")
    q = filters.CharFilter(method="filter_text")
    min_casualties = filters.NumberFilter(field_name="casualties_best", lookup_expr="gte")

    class Meta:
        model = Incident
        fields = ["start", "end", "kind", "actor", "country", "base", "q", "min_casualties"]

    def filter_actor(self, queryset, name, value):
        roles = [Involvement.Role.ATTACKER, Involvement.Role.TARGET]
        return queryset.filter(involvements__actor__slug=value, involvements__role__in=roles).distinct()

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(summary__icontains=value) | Q(place_name__icontains=value))


class IncidentFeatureSerializer(GeoFeatureModelSerializer):
    date_precision = serializers.SerializerMethodField()
    date_label = serializers.SerializerMethodField()
    kind_label = serializers.CharField(source="get_kind_display")
    category = serializers.CharField()
    base_name = serializers.CharField(source="base.name", default=None)
    attackers = serializers.SerializerMethodField()
    targets = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        geo_field = "location"
        fields = [
            "id",
            "occurred_on",
            "date_precision",
            "date_label",
            "kind",
            "kind_label",
            "category",
            "title",
            "place_name",
            "country",
            "base",
            "base_name",
            "attackers",
            "targets",
            "attribution",
            "casualties_best",
            "fatalities_best",
            "weapon",
            "munitions",
            "status",
        ]

    def get_date_precision(self, incident) -> str:
        return DatePrecision(incident.date_precision).label

    def get_date_label(self, incident) -> str:
        day, precision = incident.occurred_on, incident.date_precision
        if precision == DatePrecision.YEAR:
            return f"{day:%Y}"
        if precision == DatePrecision.MONTH:
            return f"{day:%B %Y}"
        if precision == DatePrecision.WEEK:
            return f"week of {day.isoformat()}"
        return day.isoformat()

    def _names(self, incident, role) -> list[str]:
        return sorted(i.actor.name for i in incident.involvements.all() if i.role == role)

    def get_attackers(self, incident) -> list[str]:
        return self._names(incident, Involvement.Role.ATTACKER)

    def get_targets(self, incident) -> list[str]:
        return self._names(incident, Involvement.Role.TARGET)


class IncidentDetailSerializer(IncidentFeatureSerializer):
    actors = InvolvementSerializer(source="involvements", many=True)
    casualties = CasualtySerializer(many=True)
    sources = SourceSerializer(many=True)
    links_out = LinkSerializer(many=True)
    links_in = LinkSerializer(many=True)

    class Meta(IncidentFeatureSerializer.Meta):
        fields = [
            *IncidentFeatureSerializer.Meta.fields,
            "summary",
            "geo_precision",
            "admin1",
            "nearest_base_km",
            "actors",
            "casualties",
            "sources",
            "links_out",
            "links_in",
        ]


class Pagination(GeoJsonPagination):
    page_size = 500
    page_size_query_param = "page_size"
    max_page_size = 10_000


class IncidentList(ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = IncidentFeatureSerializer
    pagination_class = Pagination
    filter_backends = [filters.DjangoFilterBackend, InBBoxFilter]
    filterset_class = IncidentFilter
    bbox_filter_field = "location"
    bbox_filter_include_overlapping = True

    def get_queryset(self):
        return (
            Incident.objects.published()
            .select_related("base")
            .prefetch_related("involvements__actor")
            .order_by("-occurred_on", "-id")
        )


class IncidentDetail(RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = IncidentDetailSerializer

    def get_queryset(self):
        return (
            Incident.objects.published()
            .select_related("base")
            .prefetch_related(
                "involvements__actor",
                "casualties",
                "sources",
                "links_out__incident",
                "links_out__prior",
                "links_out__sources",
                "links_in__incident",
                "links_in__prior",
                "links_in__sources",
            )
        )


TRUNC = {
    "day": (TruncDay, dt.timedelta(days=1)),
    "week": (TruncWeek, dt.timedelta(weeks=1)),
    "month": (TruncMonth, None),
}


class Timeline(APIView):
    """Counts per bucket and kind with the ORM, buckets assembled (and gaps filled) in Python."""

    permission_classes = [AllowAny]

    def get(self, request):
        bucket = request.GET.get("bucket", "week")
        trunc, step = TRUNC[bucket]
        incidents = IncidentFilter(request.GET, queryset=Incident.objects.published()).qs
        rows = (
            incidents.annotate(start=trunc("occurred_on"))
            .values("start", "kind")
            .annotate(n=Count("id"), casualties=Sum("casualties_best"), fatalities=Sum("fatalities_best"))
            .order_by("start", "kind")
        )
        buckets: dict[dt.date, dict] = defaultdict(lambda: {"counts": {}, "total": 0, "casualties": 0, "fatalities": 0})
        kinds = set()
        for row in rows:
            start = row["start"].date() if isinstance(row["start"], dt.datetime) else row["start"]
            entry = buckets[start]
            entry["counts"][row["kind"]] = row["n"]
            entry["total"] += row["n"]
            entry["casualties"] += row["casualties"]
            entry["fatalities"] += row["fatalities"]
            kinds.add(row["kind"])
        series = []
        if buckets:
            day, last = min(buckets), max(buckets)
            while day <= last:
                entry = buckets.get(day, {"counts": {}, "total": 0, "casualties": 0, "fatalities": 0})
                order = {kind: i for i, kind in enumerate(Kind.values)}
                entry["counts"] = dict(sorted(entry["counts"].items(), key=lambda item: order[item[0]]))
                series.append({"start": day.isoformat(), **entry})
                day = day + step if step else (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return Response({"bucket": bucket, "kinds": [kind for kind in Kind.values if kind in kinds], "buckets": series})
