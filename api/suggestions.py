"""GET /api/v1/links/suggestions/: the links nobody has drawn yet (events.cycles.suggestions), best first."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Window
from django.db.models.functions import RowNumber
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny

from api.filters import INCIDENT_FILTER_NAMES, IncidentFilters, NumberField, read_incident_filters
from api.http import ApiMixin
from api.lists import ListPagination
from api.schema import BAD_REQUEST, FILTER_PARAMETERS
from events.cycles import suggestions as cycles
from events.models import Incident, IncidentLink, LinkSuggestion, SuggestionRejection

MAX_KM = 20_038  # half the Earth's circumference: no two points are farther apart


class SuggestionSerializer(serializers.ModelSerializer):
    incident = serializers.IntegerField(source="incident_id", help_text="The later incident.")
    prior = serializers.IntegerField(source="prior_id", help_text="The earlier incident it may answer.")
    relation = serializers.ChoiceField(IncidentLink.Relation.choices, help_text="The relation proposed.")
    rank = serializers.IntegerField(source="filtered_rank", help_text="1 is the best candidate for `incident`.")

    class Meta:
        model = LinkSuggestion
        fields = ["incident", "prior", "relation", "lag_days", "distance_km", "score", "rank"]


CHANCE_SCHEMA = inline_serializer(
    "SuggestionChance",
    {
        "verdict": serializers.ChoiceField(["more than chance", "no more than chance", "insufficient data"]),
        "pairs": serializers.IntegerField(),
        "expected": serializers.FloatField(),
        "interval": serializers.ListField(child=serializers.FloatField()),
        "ratio": serializers.FloatField(allow_null=True),
        "p_value": serializers.FloatField(),
        "permutations": serializers.IntegerField(),
        "incidents": serializers.IntegerField(),
        "min_pairs": serializers.IntegerField(),
    },
    required=False,  # only with chance=true
)


@extend_schema(
    summary="Suggested links: earlier incidents each incident may answer (the reversed dyad)",
    description=(
        "For each published incident matching the filters, the earlier incidents whose targeted side is its "
        f"attacking side, at most `window` days before (default and maximum {cycles.WINDOW_DAYS}), best first. "
        "Pairs already linked or rejected by an editor are left out. `score` (0-1) is built from the lag, the "
        "distance and both incidents' casualties (README, Cycle analytics); `rank` is recounted after the "
        "filters. With `chance=true`, `chance` compares the pairing with the same incidents' dates shuffled."
    ),
    parameters=[
        *FILTER_PARAMETERS,
        OpenApiParameter("window", int, default=cycles.WINDOW_DAYS, description="Days before the incident."),
        OpenApiParameter("within_km", float, description="At most this far apart."),
        OpenApiParameter("min_score", float, description="At least this score, 0 to 1."),
        OpenApiParameter("chance", bool, default=False, description="Add the measure against chance."),
        OpenApiParameter("page", int),
        OpenApiParameter("limit", int, default=ListPagination.page_size),
        OpenApiParameter("page_size", int, default=ListPagination.page_size, description="The same as limit."),
    ],
    responses={
        200: inline_serializer(
            "SuggestionPage",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": SuggestionSerializer(many=True),
                "chance": CHANCE_SCHEMA,
            },
        ),
        **BAD_REQUEST,
    },
)
class SuggestionListView(ApiMixin, GenericAPIView):
    permission_classes = [AllowAny]
    serializer_class = SuggestionSerializer
    pagination_class = ListPagination
    query_parameters = INCIDENT_FILTER_NAMES | {"window", "within_km", "min_score", "chance"}
    query_parameters |= ListPagination.query_parameters

    def get(self, request):
        reader = self.reader(request)
        filters = read_incident_filters(reader)
        window = reader.integer("window", minimum=1, maximum=cycles.WINDOW_DAYS)
        within_km = reader.parse("within_km", NumberField(above=0, maximum=MAX_KM))
        min_score = reader.parse("min_score", NumberField(minimum=0, maximum=1))
        with_chance = reader.choice("chance", ["true", "false"], default="false") == "true"
        reader.check()

        matching = filters.queryset(request.user) if filters != IncidentFilters() else Incident.objects.published()
        suggestions = (
            LinkSuggestion.objects.within(window=window, within_km=within_km, min_score=min_score)
            .filter(incident__in=matching.values("id"), incident__status=Incident.Status.PUBLISHED)
            .filter(prior__status=Incident.Status.PUBLISHED)
            # Until the refresh queued by a link or a rejection has run, its pair is still in the table.
            .exclude(
                Exists(IncidentLink.objects.filter(incident_id=OuterRef("incident_id"), prior_id=OuterRef("prior_id")))
            )
            .exclude(
                Exists(
                    SuggestionRejection.objects.filter(
                        incident_id=OuterRef("incident_id"), prior_id=OuterRef("prior_id")
                    )
                )
            )
            .annotate(
                filtered_rank=Window(
                    RowNumber(),
                    partition_by=[F("incident_id")],
                    order_by=[F("score").desc(), "lag_days", F("prior_id").desc()],
                )
            )
            .order_by("-score", "incident_id", "prior_id")
        )
        page = self.paginate_queryset(suggestions)
        response = self.get_paginated_response(SuggestionSerializer(page, many=True).data)
        if with_chance:
            ids_sql, params = matching.values("id").query.sql_with_params()
            response.data["chance"] = cycles.chance((ids_sql, params), window=window or cycles.WINDOW_DAYS).as_dict()
        return response
