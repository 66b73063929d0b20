"""Cycle analytics under /api/v1/analytics/: deterrence, response lags, before and after, escalation, surges, and
the space-time table.

The figures are computed by events.cycles.analytics; these views read and check the parameters (the incident
filters and each endpoint's own), answer from the cache while the data are unchanged, and describe the bodies for
the OpenAPI schema.
"""

from __future__ import annotations

from django import forms
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from api import schema
from api.filters import (
    INCIDENT_FILTER_NAMES,
    MAX_ID,
    NumberField,
    QueryReader,
    WholeNumberField,
    read_incident_filters,
)
from api.http import JSON, ApiView
from events.cycles import analytics
from events.models import Incident, Kind

MAX_DAYS = 365  # a year either side: beyond it "before and after" no longer says anything about the incident
MAX_WINDOW = 365
MAX_KM = 500  # `within_km` and the space-time table's distances: farther, "near" no longer means anything
MAX_EDGES = 8
MAX_PERMUTATIONS = 999


class AnalyticsView(ApiView):
    permission_classes = [AllowAny]
    versioned = True
    own_parameters: set[str] = set()
    endpoint = ""  # its name in events.cycles.analytics' cache and DEFAULT_ANSWERS

    @property
    def query_parameters(self) -> set[str]:
        return INCIDENT_FILTER_NAMES | self.own_parameters

    def get(self, request):
        reader = self.reader(request)
        filters = read_incident_filters(reader)
        options = self.read(reader)
        reader.check()
        if early := self.not_modified(request):
            return early
        # Analytics read published incidents only, whoever asks (events.cycles.analytics).
        selected = filters.apply(Incident.objects.published())
        answer = self.answer(request)
        if answer is None or not answer.committed:  # this transaction's own writes: its answer is its own
            return Response(self.compute(selected, filters, **options))
        # The unfiltered answers of the Analytics view are usually there already (analytics.warm_default_answers).
        query = self.cache_query(request, filters, options)
        body = analytics.cached_answer(self.endpoint, query, lambda: self.compute(selected, filters, **options))
        return Response(body)

    def cache_query(self, request, filters, options: dict) -> str:
        """The query string the answer is cached under: as given."""
        return request.GET.urlencode()

    def read(self, reader: QueryReader) -> dict:
        return {}

    def compute(self, selected, filters, **options) -> dict:
        raise NotImplementedError

    @staticmethod
    def read_incident(reader: QueryReader) -> Incident | None:
        pk = reader.integer("incident", minimum=1, maximum=MAX_ID)
        if pk is None:
            if not reader.has_error("incident"):
                reader.error("incident", "Required: the id of a published incident.")
            return None
        incident = Incident.objects.published().filter(pk=pk).first()
        if incident is None:
            reader.error("incident", f"No published incident has the id {pk}.")
        return incident

    @staticmethod
    def read_days(reader: QueryReader, name: str, default: int, maximum: int) -> int:
        value = reader.integer(name, minimum=1, maximum=maximum)
        return default if value is None else value

    @staticmethod
    def read_within_km(reader: QueryReader) -> dict:
        """`within_km`, for the measures that take it: absent, the answer is the one without a radius."""
        return {"within_km": reader.parse("within_km", NumberField(above=0, maximum=MAX_KM))}


class EdgesField:
    """Band edges: increasing values, comma-separated, at most MAX_EDGES, each as `each` parses it."""

    def __init__(self, each):
        self.each = each

    def parse(self, value: str) -> tuple:
        parts = value.split(",")
        if len(parts) > MAX_EDGES:
            raise forms.ValidationError(f"At most {MAX_EDGES} edges.")
        edges = tuple(self.each.parse(part.strip()) for part in parts)
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise forms.ValidationError("Give increasing edges, comma-separated.")
        return edges


FIGURE_FIELDS = {
    "n": serializers.IntegerField(help_text="How many observations the figure rests on."),
    # Plain strings: a second enum named "status" beside the incidents' would collide in the schema.
    "status": serializers.CharField(
        help_text="'ok'; 'insufficient data' below the documented n (then value, low and high are null); "
        "'not reached' for a median the survival curve never fell to.",
    ),
    "value": serializers.FloatField(allow_null=True),
    "low": serializers.FloatField(allow_null=True, help_text="95% interval; null: insufficient data or unbounded."),
    "high": serializers.FloatField(allow_null=True, help_text="95% interval; null: insufficient data or unbounded."),
}


WITHIN_KM = OpenApiParameter(
    "within_km",
    float,
    description=f"Only attacks within this many km (great-circle, more than 0, at most {MAX_KM}) count; incidents "
    "without a point are then left out and counted in `unplaced`. Absent: the answer without a radius.",
)
RADIUS_FIELDS = {
    "within_km": serializers.FloatField(required=False, help_text="The radius asked for (only with within_km)."),
    "unplaced": serializers.IntegerField(
        required=False, help_text="Incidents left out for having no point (only with within_km)."
    ),
}


def figure_field(name: str, help_text: str = "") -> serializers.Serializer:
    return inline_serializer(name, FIGURE_FIELDS, help_text=help_text or None)


def side_field(name: str, **kwargs) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "key": serializers.CharField(help_text="A side's slug, or actor:<slug> for an actor with no side."),
            "label": serializers.CharField(),
        },
        **kwargs,
    )


class DeterrenceWindowSchema(serializers.Serializer):
    incident = serializers.IntegerField(help_text="The deterrent action (a strike or a show of force).")
    kind = serializers.ChoiceField(choices=Kind.choices)
    occurred_on = serializers.DateField()
    next_attack = serializers.IntegerField(allow_null=True, help_text="The first attack that ended the window.")
    next_attack_on = serializers.DateField(allow_null=True)
    days = serializers.IntegerField(help_text="Days to the next attack, or to the data's last date if censored.")
    censored = serializers.BooleanField(help_text="The window is still open at the data's last date.")


class CurvePointSchema(serializers.Serializer):
    days = serializers.IntegerField()
    survival = serializers.FloatField(help_text="Kaplan-Meier S(days): the share of windows still holding.")
    low = serializers.FloatField()
    high = serializers.FloatField()
    at_risk = serializers.IntegerField()


class DeterrenceKindSchema(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    kind_label = serializers.CharField()
    n = serializers.IntegerField()
    attacks = serializers.IntegerField(help_text="Windows ended by an attack.")
    censored = serializers.IntegerField(help_text="Windows still open.")
    status = serializers.CharField(help_text="'ok', or 'insufficient data'.")
    median_days = figure_field("AnalyticsMedianDays", "Kaplan-Meier median days, with its 95% CI.")
    held = inline_serializer(
        "AnalyticsHeld",
        {str(days): figure_field(f"AnalyticsHeld{days}") for days in analytics.HELD_DAYS},
        help_text="Share of windows with no attack within 7, 14 and 30 days, S(t) with its 95% CI.",
    )
    curve = CurvePointSchema(many=True, help_text="The survival curve's steps (empty with insufficient data).")


class DeterrenceSchema(serializers.Serializer):
    censored_at = serializers.DateField(allow_null=True, help_text="The data's last date.")
    unaimed = serializers.IntegerField(help_text="Actions left out for naming no target or no actor.")
    within_km = RADIUS_FIELDS["within_km"]
    unplaced = RADIUS_FIELDS["unplaced"]
    summary = DeterrenceKindSchema(many=True)
    windows = DeterrenceWindowSchema(many=True)


BIN_FIELDS = {
    "from": serializers.IntegerField(),
    "to": serializers.IntegerField(help_text="Inclusive."),
    "count": serializers.FloatField(),
}


class LagSummarySchema(serializers.Serializer):
    count = serializers.IntegerField()
    median = figure_field("AnalyticsLagMedian", "Median lag in days, bootstrap 95% CI.")
    iqr = figure_field("AnalyticsLagIqr", "Interquartile range: value the width, low and high the quartiles.")
    method = serializers.CharField(allow_null=True, help_text="How the median's CI was computed.")
    bins = inline_serializer("AnalyticsLagBin", BIN_FIELDS, many=True)


class BaselineSchema(serializers.Serializer):
    priors = serializers.IntegerField(help_text="Force incidents by the first side on the answering side.")
    answers = serializers.IntegerField(help_text="Force incidents by the answering side on the first side.")
    status = serializers.CharField(help_text="'ok', or 'insufficient data'.")
    verdict = serializers.ChoiceField(choices=["more than chance", "no more than chance", analytics.INSUFFICIENT])
    p_value = serializers.FloatField(allow_null=True, help_text="Permutation p of answers following priors closely.")
    observed = inline_serializer(
        "AnalyticsBaselineObserved",
        {
            "mean_capped_lag": serializers.FloatField(),
            "within_window": serializers.IntegerField(),
            "median": figure_field("AnalyticsObservedMedian"),
            "bins": inline_serializer("AnalyticsObservedBin", BIN_FIELDS, many=True),
        },
        allow_null=True,
    )
    shuffled = inline_serializer(
        "AnalyticsBaselineShuffled",
        {
            "permutations": serializers.IntegerField(),
            "mean_capped_lag": figure_field("AnalyticsShuffledStatistic"),
            "within_window": serializers.FloatField(),
            "median": figure_field("AnalyticsShuffledMedian"),
            "bins": inline_serializer(
                "AnalyticsBandBin",
                {**BIN_FIELDS, "low": serializers.FloatField(), "high": serializers.FloatField()},
                many=True,
                help_text="Mean count per bin over the permutations, and the middle 95% (the band).",
            ),
        },
        allow_null=True,
    )


class LagPairSchema(serializers.Serializer):
    first = side_field("AnalyticsFirstSide", help_text="The side that acted first.")
    answering = side_field("AnalyticsAnsweringSide", help_text="The side that answered.")
    links = LagSummarySchema(help_text="From confirmed links.")
    suggestions = LagSummarySchema(help_text="From suggested links (each answer's best candidate).")
    baseline = BaselineSchema()


class ResponseLagsSchema(serializers.Serializer):
    window = serializers.IntegerField()
    bin_days = serializers.IntegerField()
    pairs_total = serializers.IntegerField()
    within_km = RADIUS_FIELDS["within_km"]
    unplaced = RADIUS_FIELDS["unplaced"]
    truncated = serializers.BooleanField(
        help_text=f"Whether pairs beyond the {analytics.MAX_PAIRS} largest were left out."
    )
    pairs = LagPairSchema(many=True)


WINDOW_FIELDS = {
    "start": serializers.DateField(),
    "end": serializers.DateField(),
    "days": serializers.IntegerField(help_text="Days in the window (cut at the data's first and last dates)."),
    "attacks": serializers.IntegerField(),
}


class BeforeAfterSchema(serializers.Serializer):
    incident = serializers.IntegerField()
    occurred_on = serializers.DateField()
    days = serializers.IntegerField()
    within_km = RADIUS_FIELDS["within_km"]
    unplaced = RADIUS_FIELDS["unplaced"]
    attacking_sides = side_field("AnalyticsActingSide", many=True)
    targeted_sides = side_field("AnalyticsTargetedSide", many=True)
    before = inline_serializer("AnalyticsWindowBefore", WINDOW_FIELDS)
    after = inline_serializer("AnalyticsWindowAfter", WINDOW_FIELDS)
    earlier = inline_serializer("AnalyticsWindowEarlier", WINDOW_FIELDS, help_text="The 4 x days before `before`.")
    rate_ratio = figure_field("AnalyticsRateRatio", "Attacks per day after over before, exact 95% CI.")
    spike_before = serializers.BooleanField(allow_null=True, help_text="Null when the data are too short to tell.")
    warnings = serializers.ListField(child=serializers.CharField())


class EscalationStepSchema(serializers.Serializer):
    incident = serializers.IntegerField()
    occurred_on = serializers.DateField()
    kind = serializers.ChoiceField(choices=Kind.choices)
    kind_label = serializers.CharField()
    title = serializers.CharField()
    base = serializers.IntegerField(allow_null=True)
    base_name = serializers.CharField(allow_null=True)
    casualties_best = serializers.IntegerField()
    fatalities_best = serializers.IntegerField()
    level = serializers.IntegerField(min_value=0, max_value=max(analytics.LEVELS))
    level_label = serializers.CharField()
    answers = serializers.ListField(child=serializers.IntegerField(), help_text="The chain's steps it answers.")
    change = serializers.ChoiceField(choices=["up", "down", "same"], allow_null=True)
    flags = serializers.ListField(
        child=serializers.ChoiceField(
            choices=[
                "first_kind_in_chain",
                "first_fatality_in_chain",
                "first_kind_at_base",
                "first_fatality_at_base",
                "first_kind_in_dyad",
                "new_high",
            ]
        )
    )
    notes = serializers.ListField(child=serializers.CharField())


class EscalationSchema(serializers.Serializer):
    incident = serializers.IntegerField()
    ladder = inline_serializer(
        "AnalyticsLevel", {"level": serializers.IntegerField(), "label": serializers.CharField()}, many=True
    )
    n = serializers.IntegerField()
    up = serializers.IntegerField()
    down = serializers.IntegerField()
    same = serializers.IntegerField()
    highest = serializers.IntegerField(allow_null=True)
    steps = EscalationStepSchema(many=True)


class SurgeSchema(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["side", "base"])
    key = serializers.CharField(help_text="A side key, or a base's id.")
    label = serializers.CharField()
    week = serializers.DateField(help_text="Monday of the ISO week.")
    week_end = serializers.DateField()
    count = serializers.IntegerField()
    previous_weeks = serializers.IntegerField()
    previous_mean = serializers.FloatField()
    ratio = figure_field("AnalyticsSurgeRatio", "The week over the previous weeks' mean, exact 95% CI.")


class SurgesSchema(serializers.Serializer):
    rule = serializers.CharField()
    n = serializers.IntegerField()
    surges = SurgeSchema(many=True)


INCIDENT = OpenApiParameter("incident", int, required=True, description="The id of a published incident.")


def analytics_schema(summary: str, description: str, body, parameters=()) -> callable:
    return extend_schema_view(
        get=extend_schema(
            summary=summary,
            description=description,
            parameters=[*schema.FILTER_PARAMETERS, *parameters],
            responses={(200, JSON): body, **schema.NOT_MODIFIED, **schema.BAD_REQUEST},
        )
    )


@analytics_schema(
    "How long deterrent actions held",
    "Each strike or show of force (matching the filters) with the days to the next attack by a side it targeted "
    "on a side that carried it out, censored at the data's last date; per kind, the Kaplan-Meier curve, the "
    f"median days and the share of windows that held 7, 14 and 30 days (below {analytics.MIN_WINDOWS} windows: "
    "insufficient data).",
    DeterrenceSchema,
    [WITHIN_KM],
)
class DeterrenceView(AnalyticsView):
    endpoint = "deterrence"
    own_parameters = {"within_km"}

    def read(self, reader):
        return self.read_within_km(reader)

    def compute(self, selected, filters, within_km):
        return analytics.deterrence(selected, within_km=within_km)


@analytics_schema(
    "Lags from an attack to its answer, per pair of sides",
    "From confirmed links and from suggestions separately (the filters apply to the answer): count, median with "
    f"a bootstrap 95% CI and IQR (below {analytics.MIN_LAGS} lags: insufficient data), histogram bins; beside "
    "them the shuffled-date baseline and its verdict.",
    ResponseLagsSchema,
    [
        OpenApiParameter(
            "window",
            int,
            default=analytics.DEFAULT_WINDOW,
            description=f"Days, 1 to {MAX_WINDOW}: histogram and baseline.",
        ),
        WITHIN_KM,
    ],
)
class ResponseLagsView(AnalyticsView):
    endpoint = "response-lags"
    own_parameters = {"window", "within_km"}

    def read(self, reader):
        return {
            "window": self.read_days(reader, "window", analytics.DEFAULT_WINDOW, MAX_WINDOW),
            **self.read_within_km(reader),
        }

    def compute(self, selected, filters, window, within_km):
        return analytics.response_lags(selected, window=window, within_km=within_km)


@analytics_schema(
    "Attacks before and after an incident",
    "Attacks by the incident's targeted sides on its attacking sides (of the filters' kinds if given) in the "
    "`days` before and after it, the rate ratio with an exact 95% CI (conditional binomial; below "
    f"{analytics.MIN_BEFORE_AFTER} attacks in all: insufficient data), and a warning when the window before "
    "was a spike.",
    BeforeAfterSchema,
    [INCIDENT, OpenApiParameter("days", int, default=14, description=f"1 to {MAX_DAYS}."), WITHIN_KM],
)
class BeforeAfterView(AnalyticsView):
    endpoint = "before-after"
    own_parameters = {"incident", "days", "within_km"}

    def read(self, reader):
        return {
            "incident": self.read_incident(reader),
            "days": self.read_days(reader, "days", 14, MAX_DAYS),
            **self.read_within_km(reader),
        }

    def compute(self, selected, filters, incident, days, within_km):
        return analytics.before_after(
            incident, selected, days=days, chose_kinds=bool(filters.kinds), within_km=within_km
        )


@analytics_schema(
    "An incident's chain on the severity ladder",
    "The escalation chain (through published incidents) in date order, the steps matching the filters, each on "
    "the ordinal ladder in `ladder` from its kind and casualties, against the steps it answers, with "
    "first-of-kind flags.",
    EscalationSchema,
    [INCIDENT],
)
class EscalationView(AnalyticsView):
    endpoint = "escalation"
    own_parameters = {"incident"}

    def read(self, reader):
        return {"incident": self.read_incident(reader)}

    def compute(self, selected, filters, incident):
        return analytics.escalation(incident, selected)


@analytics_schema(
    "Surge weeks per side and per base",
    f"ISO weeks in which a side's force incidents (as attacker), or a base's (as target), numbered at least "
    f"{analytics.SURGE_MIN_COUNT} and {analytics.SURGE_FACTOR} times the mean of the previous "
    f"{analytics.SURGE_WEEKS} weeks (ACLED's rule), with the ratio's exact 95% CI.",
    SurgesSchema,
    [OpenApiParameter("scope", str, enum=["side", "base"], description="Only sides, or only bases.")],
)
class SurgesView(AnalyticsView):
    endpoint = "surges"
    own_parameters = {"scope"}

    def read(self, reader):
        return {"scope": reader.choice("scope", ["side", "base"])}

    def compute(self, selected, filters, scope):
        return analytics.surges_answer(selected, scope=scope, chose_kinds=bool(filters.kinds))


class SpaceTimeCellSchema(serializers.Serializer):
    km_from = serializers.FloatField(help_text="Exclusive, but for the first band, which starts at 0 inclusive.")
    km_to = serializers.FloatField(help_text="Inclusive.")
    days_from = serializers.IntegerField(help_text="Inclusive: the first band starts the day after the act.")
    days_to = serializers.IntegerField(help_text="Inclusive.")
    observed = serializers.IntegerField(help_text="Pairs (act, later attack) this far apart in space and in days.")
    expected = serializers.FloatField(help_text="Their mean over the permutations of the dates.")
    expected_low = serializers.FloatField(help_text="2.5th percentile of the permutations' counts.")
    expected_high = serializers.FloatField(help_text="97.5th percentile of the permutations' counts.")
    status = serializers.CharField(
        help_text=f"'ok'; 'insufficient data' below {analytics.stats.MIN_CELL} observed + expected."
    )
    ratio = serializers.FloatField(allow_null=True, help_text="Observed over expected.")
    p_value = serializers.FloatField(
        allow_null=True, help_text="(1 + permutations counting at least the observed) / (1 + permutations)."
    )


class SpaceTimeSchema(serializers.Serializer):
    first = side_field("AnalyticsSpaceTimeFirst", help_text="The side whose acts open the pairs.")
    answering = side_field("AnalyticsSpaceTimeAnswering", help_text="The side whose attacks close them.")
    n_first = serializers.IntegerField(help_text="Acts of the first side on the answering side, with a point.")
    n_answering = serializers.IntegerField(help_text="Attacks of the answering side on the first, with a point.")
    unplaced = serializers.IntegerField(help_text="Events of both sets left out for having no point.")
    min_events = serializers.IntegerField(help_text="Below this many acts or attacks: insufficient data.")
    permutations = serializers.IntegerField()
    km = serializers.ListField(child=serializers.FloatField(), help_text="The distance bands' edges.")
    days = serializers.ListField(child=serializers.IntegerField(), help_text="The day bands' edges.")
    status = serializers.CharField(help_text="'ok', or 'insufficient data'.")
    seed = serializers.IntegerField(allow_null=True, help_text="The permutations' seed, drawn from the data.")
    reading = serializers.CharField(help_text="The strongest cell at p < 0.05, in a line.")
    cells = SpaceTimeCellSchema(many=True, help_text="One per (km band, day band), km bands first.")


def edges_parameter(name: str, unit: str, default: tuple, maximum: int) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        str,
        default=",".join(map(str, default)),
        description=f"Increasing band edges in {unit}, comma-separated, at most {MAX_EDGES}, each at most {maximum}.",
    )


@analytics_schema(
    "The space-time table: acts and attacks close in space and time (Knox test)",
    "Pairs of an act by `first` on `answering` and a later attack by `answering` on `first`, counted per band of "
    "distance and of days (same-day pairs never), against the mean of the same count with the dates shuffled "
    "among all the events (places and who acted stay), with the ratio and a permutation p per cell "
    f"(below {analytics.stats.MIN_SPACETIME} acts or attacks with a point: insufficient data). The filters "
    "choose the events of both sets; without `kind`, attacks, strikes and shows of force.",
    SpaceTimeSchema,
    [
        OpenApiParameter("first", str, required=True, description="A side key, as response-lags names them."),
        OpenApiParameter("answering", str, required=True, description="Another side key."),
        edges_parameter("km", "km", analytics.spacetime.KM_EDGES, MAX_KM),
        edges_parameter("days", "days", analytics.spacetime.DAY_EDGES, MAX_WINDOW),
        OpenApiParameter(
            "permutations",
            int,
            default=analytics.spacetime.PERMUTATIONS,
            description=f"1 to {MAX_PERMUTATIONS}.",
        ),
    ],
)
class SpaceTimeView(AnalyticsView):
    endpoint = "space-time"
    own_parameters = {"first", "answering", "km", "days", "permutations"}

    def read(self, reader):
        first, answering = self.read_side(reader, "first"), self.read_side(reader, "answering")
        if first and first == answering:
            reader.error("answering", "Give a side other than `first`.")
        table = analytics.spacetime
        km = reader.parse("km", EdgesField(NumberField(above=0, maximum=MAX_KM)))
        days = reader.parse("days", EdgesField(WholeNumberField(minimum=1, maximum=MAX_WINDOW)))
        permutations = reader.integer("permutations", minimum=1, maximum=MAX_PERMUTATIONS)
        return {
            "first": first,
            "answering": answering,
            "km_edges": km or table.KM_EDGES,
            "day_edges": days or table.DAY_EDGES,
            "permutations": permutations or table.PERMUTATIONS,
        }

    @staticmethod
    def read_side(reader: QueryReader, name: str) -> str | None:
        key = reader.one(name)
        if key is None:
            if not reader.has_error(name):
                reader.error(name, "Required: a side's key, as /api/v1/analytics/response-lags/ names them.")
            return None
        if key not in analytics.side_labels([key]):
            reader.error(name, f"No side or actor has the key {key!r}.")
            return None
        return key

    def cache_query(self, request, filters, options: dict) -> str:
        # Unfiltered, one key per question however it is written: the view sends the default bands, and the worker
        # warms its first pair under the same key (analytics.warm_default_answers).
        if filters.active:
            return super().cache_query(request, filters, options)
        return analytics.spacetime.canonical_query(**options)

    def compute(self, selected, filters, **options):
        try:
            return analytics.space_time(selected, chose_kinds=bool(filters.kinds), **options)
        except analytics.spacetime.TooManyPairs as refused:
            raise ValidationError({"km": [str(refused)]}) from refused
