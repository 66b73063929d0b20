"""The OpenAPI description of the endpoints whose bodies PostgreSQL builds (so no serializer describes them).

The schemas here are documentation only: they say what the SQL returns, and tests/test_schema.py holds the
responses to them with schemathesis.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers

from api.filters import (
    CHANGE_KINDS,
    DEFAULT_LIMIT,
    DEFAULT_ORDERING,
    MAX_LIMIT,
    ORDERINGS,
    BaseFilterSet,
    ChangeFilterSet,
    IncidentFilterSet,
    OgcIncidentFilterSet,
    StrictFilterSet,
)
from api.http import ATOM, CSV, GEOJSON, JSON
from api.serializers import (
    CasualtySerializer,
    IncidentFeatureInput,
    InvolvementSerializer,
    LinkInput,
    LinkSerializer,
    SourceSerializer,
)
from events.models import Category, IncidentLink, Kind
from events.properties import INCIDENT_PROPERTIES, LIST_PROPERTIES, Property, properties


class ErrorsSchema(serializers.Serializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages by parameter or field name (dotted for nested body members: properties.casualties.0.low).",
    )


class DetailSchema(serializers.Serializer):
    detail = serializers.CharField()


class LinkRelSchema(serializers.Serializer):
    rel = serializers.CharField()
    href = serializers.URLField()
    type = serializers.CharField(required=False)
    title = serializers.CharField(required=False)


class DocumentSchema(AutoSchema):
    """For viewsets whose `list` answers one document (a FeatureCollection), not a JSON array of them."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


def described_field(schema: dict, **kwargs) -> serializers.Field:
    """A field documented by a literal schema: nullable objects stay inline, where OpenAPI 3.0 can say so
    (a nullable $ref becomes allOf + nullable, which validators read as "never null")."""

    @extend_schema_field(schema)
    class Described(serializers.Field):
        pass

    return Described(**kwargs)


def nullable_object(properties: dict[str, dict], description: str = "") -> serializers.Field:
    return described_field(
        {
            "type": "object",
            "nullable": True,
            "properties": properties,
            "required": list(properties),
            "description": description,
        }
    )


NULLABLE_POINT = {
    "type": {"type": "string", "enum": ["Point"]},
    "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
}


class PointSchema(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Point"])
    coordinates = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, help_text="[longitude, latitude] (RFC 7946)."
    )


BAD_REQUEST = {(400, JSON): OpenApiResponse(ErrorsSchema, description="A parameter or field is invalid.")}
NOT_FOUND = {(404, JSON): OpenApiResponse(DetailSchema, description="No such item, or not visible to you.")}
WRITE_REFUSED = {
    (401, JSON): OpenApiResponse(DetailSchema, description="Not authenticated (send `Authorization: Token …`)."),
    (403, JSON): OpenApiResponse(DetailSchema, description="Authenticated without the model permission."),
}
NOT_MODIFIED = {304: OpenApiResponse(description="Not modified since the ETag / Last-Modified you sent.")}


def filter_parameters(filterset_class: type[StrictFilterSet]) -> list[OpenApiParameter]:
    """The OpenAPI parameters of a FilterSet, from its filters' own schema and help text."""

    def parameter(name: str, spec) -> OpenApiParameter:
        description = spec.extra.get("help_text", "")
        if spec.many:  # drf-spectacular repeats only basic types: the item's type and its enum
            return OpenApiParameter(
                name, str, many=True, explode=True, enum=spec.schema.get("enum"), description=description
            )
        return OpenApiParameter(name, spec.schema, description=description)

    return [parameter(name, spec) for name, spec in filterset_class.base_filters.items()]


FILTER_PARAMETERS = filter_parameters(IncidentFilterSet)
PAGE_PARAMETERS = [
    OpenApiParameter("ordering", str, enum=list(ORDERINGS), default=DEFAULT_ORDERING),
    OpenApiParameter(
        "limit", int, default=DEFAULT_LIMIT, description=f"Features per page; larger values are capped at {MAX_LIMIT}."
    ),
    OpenApiParameter("cursor", str, description="Opaque; follow the `next` and `prev` links rather than building it."),
]
ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


def property_field(prop: Property) -> serializers.Field:
    """The schema of one declared incident property: enums as choices (named types), the rest as declared."""
    if prop.choices is not None:
        choices = prop.choices if isinstance(prop.choices, list) else prop.choices.choices
        return serializers.ChoiceField(choices=choices, help_text=prop.description or None)
    return described_field(prop.schema, help_text=prop.description or None)


def properties_schema(name: str, selected: list[Property], base=serializers.Serializer, **more) -> type:
    return type(name, (base,), {prop.name: property_field(prop) for prop in selected} | more)


IncidentPropertiesSchema = properties_schema("IncidentPropertiesSchema", LIST_PROPERTIES)


class IncidentFeatureSchema(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField()
    geometry = nullable_object(NULLABLE_POINT, "[longitude, latitude] (RFC 7946), or null when unplaced.")
    properties = IncidentPropertiesSchema()


class IncidentCollectionSchema(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    numberMatched = serializers.IntegerField(help_text="Incidents matching the filters, on every page.")  # noqa: N815
    numberReturned = serializers.IntegerField()  # noqa: N815
    links = LinkRelSchema(many=True, help_text="self, and next / prev when there are more pages.")
    features = IncidentFeatureSchema(many=True)


def _detail_properties():

    IncidentDetailPropertiesSchema = properties_schema(
        "IncidentDetailPropertiesSchema",
        [prop for prop in INCIDENT_PROPERTIES if prop.detail],
        IncidentPropertiesSchema,
        actors=InvolvementSerializer(many=True),
        casualties=CasualtySerializer(many=True),
        sources=SourceSerializer(many=True),
        links_out=LinkSerializer(many=True, help_text="Links from this incident to the earlier ones it answers."),
        links_in=LinkSerializer(many=True, help_text="Links from later incidents that answer this one."),
    )

    class IncidentDetailSchema(serializers.Serializer):
        type = serializers.ChoiceField(choices=["Feature"])
        id = serializers.IntegerField()
        geometry = nullable_object(NULLABLE_POINT, "[longitude, latitude] (RFC 7946), or null when unplaced.")
        properties = IncidentDetailPropertiesSchema()

    return IncidentDetailSchema


IncidentDetailSchema = _detail_properties()


class ClusterPropertiesSchema(serializers.Serializer):
    count = serializers.IntegerField()
    categories = inline_serializer(
        "ClusterCategories", {category.value: serializers.IntegerField() for category in Category}
    )
    casualties_best = serializers.IntegerField()
    incident = serializers.IntegerField(allow_null=True, help_text="The incident's id when count is 1.")


class ClusterCollectionSchema(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    numberMatched = serializers.IntegerField(help_text="All incidents matching the filters.")  # noqa: N815
    numberReturned = serializers.IntegerField(help_text="Clusters returned (the densest first).")  # noqa: N815
    truncated = serializers.BooleanField(help_text="Whether sparser clusters were left out (raise limit).")
    zoom = serializers.IntegerField()
    cellDegrees = serializers.FloatField()  # noqa: N815
    features = inline_serializer(
        "ClusterFeature",
        {
            "type": serializers.ChoiceField(choices=["Feature"]),
            "geometry": PointSchema(),
            "properties": ClusterPropertiesSchema(),
        },
        many=True,
    )


ChainIncidentSchema = properties_schema(
    "ChainIncidentSchema",
    properties("id", "title", "occurred_on", "date_label", "kind", "kind_label", "category"),
    coordinates=serializers.ListField(child=serializers.FloatField(), allow_null=True, min_length=2, max_length=2),
)


class ChainLinkSchema(serializers.Serializer):
    id = serializers.IntegerField()
    incident = serializers.IntegerField()
    prior = serializers.IntegerField()
    relation = serializers.ChoiceField(choices=IncidentLink.Relation.choices)
    relation_label = serializers.CharField()
    lag_days = serializers.IntegerField(help_text="Days from prior to incident.")
    confidence = serializers.ChoiceField(choices=IncidentLink.Confidence.choices)
    asserted_by = serializers.CharField()


class ChainSchema(serializers.Serializer):
    incident = serializers.IntegerField()
    incidents = ChainIncidentSchema(many=True, help_text="In date order.")
    truncated = serializers.BooleanField(
        help_text="Whether the walk stopped at its limit with more of the chain beyond: incidents then holds "
        "that many, connected through links, and not the whole chain."
    )
    links = ChainLinkSchema(many=True)


def _write_body():

    return IncidentFeatureInput


incidents = extend_schema_view(
    list=extend_schema(
        operation_id="api_v1_incidents_list",
        summary="Incidents as a GeoJSON FeatureCollection",
        description=(
            "Published incidents (drafts too for editors), newest first, paged by cursor: follow the `next` link "
            "until there is none. `format=csv` downloads every match in ACLED's columns; `format=geojson` downloads "
            "every match as one FeatureCollection file. Collections carry ETag and Last-Modified."
        ),
        parameters=[
            *FILTER_PARAMETERS,
            *PAGE_PARAMETERS,
            OpenApiParameter("format", str, enum=["geojson", "csv"], description="Download instead of a page."),
        ],
        responses={
            (200, GEOJSON): IncidentCollectionSchema,
            (200, CSV): OpenApiTypes.STR,
            **NOT_MODIFIED,
            **BAD_REQUEST,
        },
    ),
    retrieve=extend_schema(
        summary="One incident with everything: casualties, actors, sources, links in and out",
        parameters=[ID],
        responses={(200, GEOJSON): IncidentDetailSchema, **NOT_FOUND},
    ),
    create=extend_schema(
        summary="Record an incident (editors)",
        description="A GeoJSON Feature: geometry a Point or null, properties as listed. Server-owned members "
        "(id, derived totals, timestamps) are refused.",
        request={JSON: _write_body()},
        responses={(201, GEOJSON): IncidentDetailSchema, **BAD_REQUEST, **WRITE_REFUSED},
    ),
    partial_update=extend_schema(
        summary="Change an incident (editors)",
        description="Only the members sent change; actors, casualties and sources, when sent, replace the old ones.",
        parameters=[ID],
        request={JSON: _write_body()},
        responses={(200, GEOJSON): IncidentDetailSchema, **BAD_REQUEST, **WRITE_REFUSED, **NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete an incident (editors)",
        parameters=[ID],
        responses={204: OpenApiResponse(description="Deleted."), **WRITE_REFUSED, **NOT_FOUND},
    ),
    chain=extend_schema(
        summary="The escalation chain an incident belongs to",
        description="Every incident reachable through links in either direction, in date order, with the links "
        "and the lag in days of each step. The walk stops at 2,000 incidents; `truncated` says whether it did.",
        parameters=[ID],
        responses={(200, JSON): ChainSchema, **NOT_FOUND},
    ),
    clusters=extend_schema(
        summary="Incidents aggregated on a grid for dense map views",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("zoom", int, default=5, description="Web-map zoom level, 0-22: cells of about 60 px."),
            OpenApiParameter("limit", int, default=MAX_LIMIT, description="At most this many clusters."),
        ],
        responses={(200, GEOJSON): ClusterCollectionSchema, **NOT_MODIFIED, **BAD_REQUEST},
    ),
)


@extend_schema_serializer(component_name="LinkInput")
class LinkChangeSchema(LinkInput):
    """The body of PATCH on links: only the members sent change, so none has a default here."""

    class Meta(LinkInput.Meta):
        extra_kwargs = {"confidence": {"help_text": "How sure `asserted_by` is."}}


links = extend_schema_view(
    list=extend_schema(
        summary="Links between incidents",
        description="With incident filters, the links with a matching incident at either end.",
        parameters=FILTER_PARAMETERS,
    ),
    retrieve=extend_schema(parameters=[ID], responses={200: None, **NOT_FOUND}),
    create=extend_schema(
        summary="Link an incident to the earlier one it answers (editors)",
        description=(
            "Posting an existing (incident, prior, relation) updates that link (200). `relation`, `asserted_by` and "
            "`sources` are required; `confidence` (default `medium`) and `note` (default empty) may be left out, "
            "and then take their defaults, also when restating an existing link."
        ),
        request={JSON: LinkInput},
        responses={201: None, 200: None, **BAD_REQUEST, **WRITE_REFUSED},
    ),
    partial_update=extend_schema(
        parameters=[ID], request={JSON: LinkChangeSchema}, responses={200: None, **BAD_REQUEST, **WRITE_REFUSED}
    ),
    destroy=extend_schema(
        parameters=[ID], responses={204: OpenApiResponse(description="Deleted."), **WRITE_REFUSED, **NOT_FOUND}
    ),
)


class TimelineBucketSchema(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the bucket (weeks start on Monday).")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Incidents per kind code.")
    total = serializers.IntegerField()
    casualties = serializers.IntegerField()
    fatalities = serializers.IntegerField()


class TimelineSchema(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=["day", "week", "month"])
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=Kind.choices))
    buckets = TimelineBucketSchema(many=True, help_text="Every bucket from the first to the last, empty ones too.")


timeline = extend_schema_view(
    get=extend_schema(
        summary="Incident counts and casualties per day, week or month and kind",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("bucket", str, enum=["day", "week", "month"], default="week"),
        ],
        responses={(200, JSON): TimelineSchema, **NOT_MODIFIED, **BAD_REQUEST},
    )
)


class KindSchema(serializers.Serializer):
    code = serializers.ChoiceField(choices=Kind.choices)
    label = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices)
    category_label = serializers.CharField()
    acled_event_type = serializers.CharField()
    acled_sub_event_type = serializers.CharField()


kinds = extend_schema_view(
    get=extend_schema(summary="Incident kinds and map categories", responses={(200, JSON): KindSchema(many=True)})
)


class PropertyChangeSchema(serializers.Serializer):
    name = serializers.CharField(help_text="The property's name, as the incident's Feature has it.")
    old = described_field({"nullable": True}, help_text="The value before, as the API shows it.")
    new = described_field({"nullable": True}, help_text="The value after.")


class ChangeSchema(serializers.Serializer):
    id = serializers.IntegerField(help_text="The change's own id (its history row).")
    incident = serializers.IntegerField()
    title = serializers.CharField(help_text="The incident's title as of this change.")
    change = serializers.ChoiceField(
        choices=CHANGE_KINDS,
        help_text="published: first made public; updated: public properties changed; retracted: withdrawn by its "
        "source; restored: published again after a retraction.",
    )
    changed_at = serializers.DateTimeField()
    properties = PropertyChangeSchema(many=True, help_text="What changed, old → new (none when first published).")
    by = serializers.CharField(help_text="'editor', 'import #12' or 'ACLED sync #123': never an account.")
    job = serializers.IntegerField(allow_null=True, help_text="The import or sync job's id, if one made it.")
    reason = serializers.CharField(allow_null=True, help_text="An editor's reason for change, or a retraction's.")


class ChangeListSchema(serializers.Serializer):
    numberReturned = serializers.IntegerField()  # noqa: N815
    links = LinkRelSchema(many=True, help_text="self, and next / prev when there are more pages.")
    changes = ChangeSchema(many=True, help_text="Newest first.")


class IncidentHistorySchema(serializers.Serializer):
    incident = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["published", "retracted"])
    changes = ChangeSchema(many=True, help_text="Newest first.")


changes = extend_schema_view(
    get=extend_schema(
        summary="Public changes to the incidents: published, updated, retracted, restored",
        description="Newest first, paged by cursor: follow the `next` link. Drafts never appear; a change while "
        "a draft is part of its publication. `format=atom` (or /feeds/changes.atom) answers the same as an Atom "
        "feed.",
        parameters=[
            *filter_parameters(ChangeFilterSet),
            OpenApiParameter("limit", int, default=100, description=f"Changes per page; capped at {MAX_LIMIT}."),
            OpenApiParameter("cursor", str, description="Opaque; follow the `next` and `prev` links."),
            OpenApiParameter("format", str, enum=["json", "atom"], default="json"),
        ],
        responses={(200, JSON): ChangeListSchema, (200, ATOM): OpenApiTypes.STR, **NOT_MODIFIED, **BAD_REQUEST},
    )
)
incident_history = extend_schema_view(
    get=extend_schema(
        summary="What changed in one incident, when and why",
        description="For published and retracted incidents (drafts are 404), newest first.",
        parameters=[OpenApiParameter("pk", int, OpenApiParameter.PATH)],
        responses={(200, JSON): IncidentHistorySchema, **NOT_MODIFIED, **NOT_FOUND},
    )
)


class DatasetStatusSchema(serializers.Serializer):
    dataset = serializers.CharField(help_text="As incidents' `dataset` property: acled, ucdp-ged, …")
    label = serializers.CharField()
    incidents = serializers.IntegerField(help_text="Published incidents from it.")
    events_to = serializers.DateField(allow_null=True, help_text="The newest published incident's date.")
    synced_at = serializers.DateTimeField(allow_null=True, help_text="The end of its sync's last successful run.")
    sync_failing = serializers.BooleanField(help_text="Whether its sync's last run failed.")
    imported_at = serializers.DateTimeField(allow_null=True, help_text="The end of its last finished import job.")
    version = serializers.CharField(allow_null=True, help_text="The dataset's version its sync last read.")


class SourcesStatusSchema(serializers.Serializer):
    datasets = DatasetStatusSchema(many=True)


sources_status = extend_schema_view(
    get=extend_schema(
        summary="How fresh each dataset is: newest event, last sync and import, version",
        responses={(200, JSON): SourcesStatusSchema, **NOT_MODIFIED},
    )
)


class TroopLevelAtBaseSchema(serializers.Serializer):
    id = serializers.IntegerField()
    contributor = inline_serializer("Contributor", {"slug": serializers.CharField(), "name": serializers.CharField()})
    host_country = serializers.CharField()
    low = serializers.IntegerField(allow_null=True)
    best = serializers.IntegerField(allow_null=True)
    high = serializers.IntegerField(allow_null=True)
    figure = serializers.IntegerField()
    qualifier = serializers.CharField()
    label = serializers.CharField(help_text="'~1,000', '4,000+', 'up to 900', '2,500'.")
    status = serializers.CharField()
    status_label = serializers.CharField()
    as_of = serializers.DateField()
    reported_on = serializers.DateField(allow_null=True)
    mission = serializers.CharField(allow_blank=True)


class BasePropertiesSchema(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    alternate_names = serializers.ListField(child=serializers.CharField())
    country = serializers.CharField(help_text="Host country, ISO 3166-1 alpha-3.")
    country_name = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    status = serializers.CharField(allow_null=True, help_text="Today's status, if one is recorded.")
    status_label = serializers.CharField(allow_null=True)
    users = inline_serializer("BaseUser", {"slug": serializers.CharField(), "name": serializers.CharField()}, many=True)
    troop_levels = TroopLevelAtBaseSchema(many=True, help_text="The latest observation per contributor and status.")


class BaseFeatureSchema(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField()
    geometry = PointSchema()
    properties = BasePropertiesSchema()


class BaseCollectionSchema(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    numberMatched = serializers.IntegerField()  # noqa: N815
    numberReturned = serializers.IntegerField()  # noqa: N815
    links = LinkRelSchema(many=True)
    features = BaseFeatureSchema(many=True)


BASE_PARAMETERS = [
    *filter_parameters(BaseFilterSet),
    OpenApiParameter(
        "limit", int, default=MAX_LIMIT, description=f"Bases per page; larger values are capped at {MAX_LIMIT}."
    ),
    OpenApiParameter("cursor", str, description="Opaque; follow the `next` and `prev` links rather than building it."),
]

bases = extend_schema_view(
    get=extend_schema(
        summary="Bases as a GeoJSON FeatureCollection",
        parameters=BASE_PARAMETERS,
        responses={(200, GEOJSON): BaseCollectionSchema, **NOT_MODIFIED, **BAD_REQUEST},
    )
)

deployments = extend_schema_view(
    list=extend_schema(summary="Troop-level observations", responses={200: None, **NOT_MODIFIED, **BAD_REQUEST}),
    retrieve=extend_schema(parameters=[ID], responses={200: None, **NOT_FOUND}),
)
actors = extend_schema_view(
    list=extend_schema(summary="States, forces, missions and armed groups", responses={200: None, **BAD_REQUEST}),
    retrieve=extend_schema(parameters=[ID], responses={200: None, **NOT_FOUND}),
)
sources = extend_schema_view(
    list=extend_schema(summary="Citations", responses={200: None, **BAD_REQUEST}),
    retrieve=extend_schema(parameters=[ID], responses={200: None, **NOT_FOUND}),
    create=extend_schema(summary="Add a citation (editors)", responses={201: None, **BAD_REQUEST, **WRITE_REFUSED}),
)


OGC_TAG = ["OGC API – Features"]


class OgcExceptionSchema(serializers.Serializer):
    code = serializers.CharField()
    description = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


OGC_BAD_REQUEST = {(400, JSON): OpenApiResponse(OgcExceptionSchema, description="A parameter is invalid.")}
OGC_NOT_FOUND = {(404, JSON): OpenApiResponse(OgcExceptionSchema, description="No such collection or feature.")}
F_PARAMETER = OpenApiParameter("f", str, enum=["json"], description="Accepted and ignored: JSON is the only encoding.")
COLLECTION_ID = OpenApiParameter("collection_id", str, OpenApiParameter.PATH, enum=["incidents", "bases"])


class LandingSchema(serializers.Serializer):
    title = serializers.CharField()
    description = serializers.CharField()
    links = LinkRelSchema(many=True)


class ConformanceSchema(serializers.Serializer):
    conformsTo = serializers.ListField(child=serializers.URLField())  # noqa: N815


class CollectionSchema(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    itemType = serializers.CharField()  # noqa: N815
    crs = serializers.ListField(child=serializers.CharField())
    links = LinkRelSchema(many=True)
    extent = serializers.DictField(required=False)


class CollectionsSchema(serializers.Serializer):
    links = LinkRelSchema(many=True)
    collections = CollectionSchema(many=True)


class OgcItemsSchema(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    timeStamp = serializers.DateTimeField()  # noqa: N815
    numberMatched = serializers.IntegerField()  # noqa: N815
    numberReturned = serializers.IntegerField()  # noqa: N815
    links = LinkRelSchema(many=True)
    features = serializers.ListField(child=serializers.DictField())


ogc_landing = extend_schema_view(
    get=extend_schema(
        operation_id="getLandingPage",
        tags=OGC_TAG,
        parameters=[F_PARAMETER],
        responses={(200, JSON): LandingSchema, **OGC_BAD_REQUEST},
    )
)
ogc_conformance = extend_schema_view(
    get=extend_schema(
        operation_id="getConformanceDeclaration",
        tags=OGC_TAG,
        parameters=[F_PARAMETER],
        responses={(200, JSON): ConformanceSchema, **OGC_BAD_REQUEST},
    )
)
ogc_collections = extend_schema_view(
    get=extend_schema(
        operation_id="getCollections",
        tags=OGC_TAG,
        parameters=[F_PARAMETER],
        responses={(200, JSON): CollectionsSchema, **OGC_BAD_REQUEST},
    )
)
ogc_collection = extend_schema_view(
    get=extend_schema(
        operation_id="describeCollection",
        tags=OGC_TAG,
        parameters=[COLLECTION_ID, F_PARAMETER],
        responses={(200, JSON): CollectionSchema, **OGC_BAD_REQUEST, **OGC_NOT_FOUND},
    )
)
ogc_items = extend_schema_view(
    get=extend_schema(
        operation_id="getFeatures",
        tags=OGC_TAG,
        description="bbox, datetime (an instant, or start/end with `..` for an open end), limit and the cursor of "
        "the next link; incidents also take kind, actor, country, base, q and min_casualties.",
        parameters=[
            COLLECTION_ID,
            *[p for p in filter_parameters(OgcIncidentFilterSet) if p.name in ("bbox", "datetime")],
            OpenApiParameter("limit", int, default=100, description=f"At most {MAX_LIMIT} (larger is capped)."),
            OpenApiParameter("cursor", str, description="Opaque; follow the next link."),
            *[p for p in FILTER_PARAMETERS if p.name not in ("bbox", "start", "end")],
            F_PARAMETER,
        ],
        responses={(200, GEOJSON): OgcItemsSchema, **NOT_MODIFIED, **OGC_BAD_REQUEST, **OGC_NOT_FOUND},
    )
)
ogc_item = extend_schema_view(
    get=extend_schema(
        operation_id="getFeature",
        tags=OGC_TAG,
        parameters=[COLLECTION_ID, OpenApiParameter("feature_id", str, OpenApiParameter.PATH), F_PARAMETER],
        responses={(200, GEOJSON): OpenApiTypes.OBJECT, **OGC_BAD_REQUEST, **OGC_NOT_FOUND},
    )
)
ogc_api = extend_schema(exclude=True)
