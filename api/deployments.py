"""Troop-level observations (deployments), filtered by contributor, host country, status and date."""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import DjangoModelPermissionsOrAnonReadOnly

from api import schema
from api.http import ApiMixin
from api.lists import ListPagination
from api.serializers import SourceSerializer
from posture.countries import COUNTRY_CHOICES, country_name
from posture.models import TroopLevel


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


@schema.deployments
class DeploymentViewSet(ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Troop-level observations: how many troops each contributor has in a host country (or at a base)."""

    permission_classes = [DjangoModelPermissionsOrAnonReadOnly]
    serializer_class = TroopLevelSerializer
    pagination_class = ListPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = DeploymentFilter
    lookup_value_regex = "[0-9]+"
    query_parameters = set(DeploymentFilter.base_filters) | ListPagination.query_parameters
    versioned = True

    def get_queryset(self):
        return (
            TroopLevel.objects.select_related("contributor")
            .prefetch_related("sources")
            .order_by("contributor__name", "host_country", "status", "as_of", "id")
        )

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.reader(request).check()
