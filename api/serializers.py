"""Request bodies and the JSON of the plain lists, as DRF serializers: validation here, writes in events.actions."""

from __future__ import annotations

import math

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.actions import CasualtyFigure, IncidentRelations
from events.models import (
    Casualty,
    DatePrecision,
    Incident,
    IncidentLink,
    Involvement,
    validate_editor_reason,
)
from posture.models import Actor, Base, Source

# Members of a body that the server computes: named as such when a client sends them.
SERVER_OWNED = {
    "id",
    "casualties_best",
    "fatalities_best",
    "nearest_base",
    "nearest_base_km",
    "created_by",
    "created_at",
    "updated_at",
    "history",
    "date_label",
    "kind_label",
    "category",
    "base_name",
    "attackers",
    "targets",
    "links_in",
    "links_out",
    "lag_days",
    "relation_label",
}


class StrictFieldsMixin:
    """Refuse members the serializer does not declare, naming each one."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for key in data:
                field = self.fields.get(key)
                if key in SERVER_OWNED and (field is None or field.read_only):
                    errors[key] = ["Set by the server; it cannot be written."]
                elif field is None or field.read_only:
                    errors[key] = ["Unknown field."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class SourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["id", "publisher", "title", "url", "published_on", "reliability"]


class SourceDetailSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["id", "publisher", "title", "url", "published_on", "reliability", "note"]
        read_only_fields = ["id"]


# Members a client may read but never write: the server sets or derives them.


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {
            "type": {"type": "string", "enum": ["Point"]},
            "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        },
        "required": ["type", "coordinates"],
        "description": "A GeoJSON Point: [longitude, latitude] in WGS 84, no height.",
    }
)
class PointGeometryField(serializers.Field):
    """A GeoJSON Point, [longitude, latitude] in WGS 84 (RFC 7946), or null."""

    default_error_messages = {
        "object": "Give a GeoJSON Point object or null.",
        "members": "A Point has only 'type' and 'coordinates'.",
        "type": "Only Point geometries are accepted, not {kind}.",
        "coordinates": "Give coordinates as [longitude, latitude]: two numbers, no height.",
        "longitude": "Longitude must be between -180 and 180.",
        "latitude": "Latitude must be between -90 and 90.",
    }

    def to_internal_value(self, data) -> Point:
        if not isinstance(data, dict):
            self.fail("object")
        if set(data) - {"type", "coordinates"}:
            self.fail("members")
        if data.get("type") != "Point":
            self.fail("type", kind=repr(data.get("type"))[:40])
        coordinates = data.get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) != 2:
            self.fail("coordinates")
        if any(isinstance(c, bool) or not isinstance(c, int | float) for c in coordinates):
            self.fail("coordinates")
        lon, lat = (float(c) for c in coordinates)
        if not (math.isfinite(lon) and math.isfinite(lat)):
            self.fail("coordinates")
        if not -180 <= lon <= 180:
            self.fail("longitude")
        if not -90 <= lat <= 90:
            self.fail("latitude")
        return Point(lon, lat, srid=4326)

    def to_representation(self, value):
        return None if value is None else {"type": "Point", "coordinates": [value.x, value.y]}


class DatePrecisionField(serializers.ChoiceField):
    """'day' / 'week' / 'month' in JSON, 1 / 2 / 3 (ACLED's time_precision) in the database."""

    def __init__(self, **kwargs):
        super().__init__(choices=[p.label for p in DatePrecision], **kwargs)

    def to_internal_value(self, data):
        label = super().to_internal_value(data)
        return next(p.value for p in DatePrecision if p.label == label)

    def to_representation(self, value):
        return DatePrecision(value).label


def require_declared(serializer: serializers.Serializer, attrs: dict) -> None:
    """An item of a list that a write replaces whole is sent whole, on PATCH too.

    A partial root lets DRF skip required members at every depth, so a PATCH item without one reached the
    write (a 500); this names them as POST does.
    """
    missing = {
        name: [field.error_messages["required"]]
        for name, field in serializer.fields.items()
        if field.required and not field.read_only and name not in attrs
    }
    if missing:
        raise serializers.ValidationError(missing)


class InvolvementInput(StrictFieldsMixin, serializers.Serializer):
    role = serializers.ChoiceField(choices=Involvement.Role.choices)
    slug = serializers.SlugRelatedField(slug_field="slug", queryset=Actor.objects.all(), help_text="The actor's slug.")

    def validate(self, attrs):
        require_declared(self, attrs)
        return attrs


class CasualtyInput(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = Casualty
        fields = ["group", "kind", "low", "best", "high", "note"]
        validators = []  # one (group, kind) per incident is checked on the list, where the duplicate is

    def validate(self, attrs):
        require_declared(self, attrs)
        try:
            Casualty(**attrs).clean()  # low <= best <= high, at least one figure
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from None
        return attrs


class IncidentPropertiesInput(StrictFieldsMixin, serializers.ModelSerializer):
    date_precision = DatePrecisionField(required=False)
    base = serializers.PrimaryKeyRelatedField(queryset=Base.objects.all(), allow_null=True, required=False)
    sources = serializers.PrimaryKeyRelatedField(
        queryset=Source.objects.all(), many=True, allow_empty=False, help_text="Ids of the sources cited."
    )
    actors = InvolvementInput(many=True, required=False, help_text="Replaces all actors of the incident.")
    casualties = CasualtyInput(many=True, required=False, help_text="Replaces all casualty figures.")

    class Meta:
        model = Incident
        fields = [
            "occurred_on",
            "date_precision",
            "kind",
            "title",
            "summary",
            "attribution",
            "geo_precision",
            "place_name",
            "country",
            "admin1",
            "base",
            "weapon",
            "munitions",
            "status",
            "dataset",
            "external_id",
            "sources",
            "actors",
            "casualties",
        ]
        validators = []  # the conditional unique constraint is checked in validate(), naming external_id

    def validate_status(self, value):
        if value == Incident.Status.RETRACTED:
            raise serializers.ValidationError("Only a source's sync retracts an incident; use draft or published.")
        return value

    def validate_casualties(self, casualties):
        pairs = [(c["group"], c["kind"]) for c in casualties]
        if len(pairs) != len(set(pairs)):
            raise serializers.ValidationError("Give each group and kind once.")
        return casualties

    def validate_actors(self, actors):
        pairs = [(a["role"], a["slug"].pk) for a in actors]
        if len(pairs) != len(set(pairs)):
            raise serializers.ValidationError("Give each actor once per role.")
        return actors

    def validate(self, attrs):
        incident: Incident | None = self.root.instance
        external_id = attrs.get("external_id", incident.external_id if incident else "")
        dataset = attrs.get("dataset", incident.dataset if incident else "")
        if external_id:
            clash = Incident.objects.filter(dataset=dataset, external_id=external_id)
            if incident is not None:
                clash = clash.exclude(pk=incident.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {"external_id": ["An incident with this dataset and external id already exists."]}
                )
        return attrs


class IncidentFeatureInput(StrictFieldsMixin, serializers.Serializer):
    """The body of POST and PATCH on incidents: a GeoJSON Feature without an id."""

    type = serializers.ChoiceField(choices=["Feature"], required=False)
    geometry = PointGeometryField(allow_null=True, required=False)
    properties = IncidentPropertiesInput()
    # The history's change reason column holds 100 characters.
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        validators=[validate_editor_reason],
        help_text="Why you add or change it: the public history shows it beside the change, as an editor's.",
    )

    def write_args(self) -> tuple[dict, IncidentRelations]:
        """The fields and relations for events.actions.record_incident / update_incident."""
        data = self.validated_data
        fields = dict(data.get("properties", {}))
        sources = fields.pop("sources", None)
        actors = fields.pop("actors", None)
        casualties = fields.pop("casualties", None)
        if "geometry" in data:
            fields["location"] = data["geometry"]
        by_role: dict[str, list[Actor]] | None = None
        if actors is not None:
            by_role = {role: [] for role in Involvement.Role.values}
            for involvement in actors:
                by_role[involvement["role"]].append(involvement["slug"])
        relations = IncidentRelations(
            actors=by_role,
            casualties=None if casualties is None else [CasualtyFigure(**c) for c in casualties],
            sources=sources,
        )
        return fields, relations


class InvolvementSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(source="actor.slug")
    name = serializers.CharField(source="actor.name")

    class Meta:
        model = Involvement
        fields = ["role", "slug", "name"]


class CasualtySerializer(serializers.ModelSerializer):
    group_label = serializers.CharField(source="get_group_display")
    kind_label = serializers.CharField(source="get_kind_display")

    class Meta:
        model = Casualty
        fields = ["group", "group_label", "kind", "kind_label", "low", "best", "high", "note"]


def _link_default(name: str):
    return IncidentLink._meta.get_field(name).get_default()


class LinkInput(StrictFieldsMixin, serializers.ModelSerializer):
    """The body of POST and PATCH on links.

    POST states the whole link: `confidence` and `note` left out take their defaults (also when the POST restates
    an existing link), while `incident`, `prior`, `relation`, `asserted_by` and `sources` have none and are
    required. PATCH changes only the members it sends.
    """

    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all(), help_text="The later incident.")
    prior = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all(), help_text="The earlier one it answers.")
    sources = serializers.PrimaryKeyRelatedField(
        queryset=Source.objects.all(), many=True, allow_empty=False, help_text="Ids of the sources cited (one or more)."
    )

    class Meta:
        model = IncidentLink
        fields = ["incident", "prior", "relation", "asserted_by", "confidence", "sources", "note"]
        validators = []  # the unique (incident, prior, relation) is checked in validate()
        # The model's own defaults, so the schema shows them and POST fills them in.
        extra_kwargs = {
            "confidence": {"default": _link_default("confidence"), "help_text": "How sure `asserted_by` is."},
            "note": {"default": _link_default("note")},
        }

    def __init__(self, *args, visible_incidents=None, **kwargs):
        super().__init__(*args, **kwargs)
        if visible_incidents is not None:
            # Linking to an incident the writer cannot see would reveal that it exists.
            self.fields["incident"].queryset = visible_incidents
            self.fields["prior"].queryset = visible_incidents

    def validate(self, attrs):
        link: IncidentLink | None = self.instance
        incident = attrs.get("incident", link.incident if link else None)
        prior = attrs.get("prior", link.prior if link else None)
        relation = attrs.get("relation", link.relation if link else None)
        if incident is not None and incident == prior:
            raise serializers.ValidationError({"prior": ["An incident cannot be linked to itself."]})
        if link is not None:
            clash = IncidentLink.objects.filter(incident=incident, prior=prior, relation=relation).exclude(pk=link.pk)
            if clash.exists():
                raise serializers.ValidationError({"relation": ["These two incidents are already linked so."]})
        return attrs


class IncidentRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Incident
        fields = ["id", "title", "occurred_on", "kind"]


class LinkSerializer(serializers.ModelSerializer):
    relation_label = serializers.CharField(source="get_relation_display")
    incident = IncidentRefSerializer()
    prior = IncidentRefSerializer()
    lag_days = serializers.IntegerField()
    sources = SourceSerializer(many=True)
    warning = serializers.SerializerMethodField(
        help_text="Null, unless an end was retracted by its source (editors only see such links): which, and why."
    )

    class Meta:
        model = IncidentLink
        fields = [
            "id",
            "relation",
            "relation_label",
            "incident",
            "prior",
            "lag_days",
            "confidence",
            "asserted_by",
            "note",
            "sources",
            "warning",
        ]

    def get_warning(self, link: IncidentLink) -> str | None:
        """As api.features.LINK_WARNING writes it."""
        ends = [f"incident {end.pk} ({end.retracted_reason})" for end in (link.incident, link.prior) if end.retracted]
        return f"Retracted: {'; '.join(ends)}." if ends else None

    @staticmethod
    def for_incidents(user):
        """Links whose both ends the user may see, with what the serializer reads, in three queries."""
        return (
            IncidentLink.objects.visible_to(user)
            .select_related("incident", "prior")
            .prefetch_related("sources")
            .order_by("prior__occurred_on", "incident__occurred_on", "id")
        )
