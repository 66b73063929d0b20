"""Incidents: their write bodies and the viewset (their Features and chains are built in api.features)."""

from __future__ import annotations

from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import DjangoModelPermissionsOrAnonReadOnly
from rest_framework.response import Response

from api import schema
from api.clusters import MAX_ZOOM, clusters, counted_in_cells
from api.export import csv_download, geojson_download
from api.features import gone_if_retracted, incident_chain, incident_detail_feature, incident_page
from api.filters import INCIDENT_FILTER_NAMES, MAX_LIMIT, read_incident_filters, read_page
from api.http import GEOJSON, ApiMixin, GeoJSONRenderer, bytes_response, json_body
from api.pages import feature_collection, page_links
from api.serializers import IncidentFeatureInput
from events import actions
from events.models import (
    Incident,
    sees_drafts,
)

# Real chains are a handful of incidents; this bounds the walk when links join a runaway component
# (a bulk import linking everything to one incident), and the response says when it was reached.
CHAIN_LIMIT = 2000


@schema.incidents
class IncidentViewSet(ApiMixin, viewsets.GenericViewSet):
    schema = schema.DocumentSchema()
    permission_classes = [DjangoModelPermissionsOrAnonReadOnly]
    lookup_value_regex = "[0-9]+"

    @property
    def versioned(self) -> bool:
        # A chain is a short walk from one incident, answered as it is.
        return self.action in ("list", "clusters", "retrieve")

    def get_queryset(self):
        return Incident.objects.visible_to(self.request.user)

    def get_renderers(self):
        if self.action in ("retrieve", "create", "partial_update"):
            return [GeoJSONRenderer()]
        return super().get_renderers()

    def list(self, request):
        self.query_parameters = INCIDENT_FILTER_NAMES | {"ordering", "limit", "cursor", "format"}
        reader = self.reader(request)
        filters = read_incident_filters(reader)
        page = read_page(reader)
        download = reader.choice("format", ["geojson", "csv"])
        reader.check()
        incidents = filters.apply(self.get_queryset())
        if download == "csv":
            return csv_download(incidents, page)
        if download == "geojson":
            return geojson_download(incidents, page, request.build_absolute_uri())
        if early := self.not_modified(request):
            return early
        result = incident_page(incidents, page, counted=counted_in_cells(filters, drafts=sees_drafts(request.user)))
        return bytes_response(feature_collection(result, page_links(request, result)), GEOJSON)

    @action(detail=False, methods=["get"])
    def clusters(self, request):
        self.query_parameters = INCIDENT_FILTER_NAMES | {"zoom", "limit"}
        reader = self.reader(request)
        filters = read_incident_filters(reader)
        zoom = reader.integer("zoom", minimum=0, maximum=MAX_ZOOM)
        limit = reader.limit(default=MAX_LIMIT)
        reader.check()
        if early := self.not_modified(request):
            return early
        body = clusters(
            filters, self.get_queryset(), 5 if zoom is None else zoom, limit, drafts=sees_drafts(request.user)
        )
        return bytes_response(body, GEOJSON)

    def retrieve(self, request, pk: str):
        if early := self.not_modified(request):
            return early
        feature = incident_detail_feature(self.get_queryset(), int(pk), through_drafts=sees_drafts(request.user))
        if feature is None:
            gone_if_retracted(int(pk))
            raise exceptions.NotFound()
        return Response(feature)

    def _visible(self, pk: str, queryset=None) -> Incident:
        """The incident, if the user may see it; 410 if its source retracted it, else 404."""
        incident = (self.get_queryset() if queryset is None else queryset).filter(pk=int(pk)).first()
        if incident is None:
            gone_if_retracted(int(pk))
            raise exceptions.NotFound()
        return incident

    @action(detail=True, methods=["get"])
    def chain(self, request, pk: str):
        incident = self._visible(pk, self.get_queryset().only("id"))
        chain = incident_chain(
            self.get_queryset(), incident.pk, through_drafts=sees_drafts(request.user), limit=CHAIN_LIMIT
        )
        return Response(chain)

    def create(self, request):
        data = json_body(request)
        serializer = IncidentFeatureInput(data=data)
        serializer.is_valid(raise_exception=True)
        fields, relations = serializer.write_args()
        reason = serializer.validated_data.get("reason") or None
        incident = actions.record_incident(fields=fields, relations=relations, user=request.user, reason=reason)
        return self._feature_response(incident.pk, status.HTTP_201_CREATED)

    def partial_update(self, request, pk: str):
        incident = self._visible(pk)
        data = json_body(request)
        serializer = IncidentFeatureInput(incident, data=data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields, relations = serializer.write_args()
        incident._change_reason = serializer.validated_data.get("reason") or None  # simple-history's, for its row
        actions.update_incident(incident, fields=fields, relations=relations)
        return self._feature_response(incident.pk, status.HTTP_200_OK)

    def destroy(self, request, pk: str):
        incident = self._visible(pk)
        actions.delete_incident(incident)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _feature_response(self, pk: int, code: int) -> Response:
        # The writer may hold add but not change permission and so not see drafts: show them what they wrote.
        feature = incident_detail_feature(Incident.objects.all(), pk, through_drafts=sees_drafts(self.request.user))
        response = Response(feature, status=code)
        response["Location"] = self.request.build_absolute_uri(f"/api/v1/incidents/{pk}/")
        return response
