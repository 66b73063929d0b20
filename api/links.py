"""Links between incidents: their JSON, their write body, and the viewset."""

from __future__ import annotations

from django.db.models import Q
from rest_framework import status, viewsets
from rest_framework.permissions import DjangoModelPermissionsOrAnonReadOnly
from rest_framework.response import Response

from api import schema
from api.filters import INCIDENT_FILTER_NAMES, read_incident_filters
from api.http import ApiMixin, json_body
from api.lists import ListPagination
from api.serializers import LinkInput, LinkSerializer
from events import actions
from events.models import (
    Incident,
    IncidentLink,
)


@schema.links
class LinkViewSet(ApiMixin, viewsets.GenericViewSet):
    """Links between incidents: `incident` is a <relation> `prior`."""

    permission_classes = [DjangoModelPermissionsOrAnonReadOnly]
    serializer_class = LinkSerializer
    pagination_class = ListPagination
    lookup_value_regex = "[0-9]+"
    versioned = True

    def get_queryset(self):
        return LinkSerializer.for_incidents(self.request.user)

    def list(self, request):
        # With incident filters: the links with an incident that matches at either end (the dashboard's
        # escalation chains of a date range), so a client never pages through every link.
        self.query_parameters = INCIDENT_FILTER_NAMES | ListPagination.query_parameters
        reader = self.reader(request)
        filters = read_incident_filters(reader)
        reader.check()
        if early := self.not_modified(request):
            return early
        links = self.get_queryset()
        if filters.active:
            matching = filters.queryset(request.user).values("id")
            links = links.filter(Q(incident_id__in=matching) | Q(prior_id__in=matching))
        page = self.paginate_queryset(links)
        return self.get_paginated_response(LinkSerializer(page, many=True).data)

    def retrieve(self, request, pk: str):
        if early := self.not_modified(request):
            return early
        return Response(LinkSerializer(self.get_object()).data)

    def create(self, request):
        serializer = self._input(data=json_body(request))
        data = serializer.validated_data
        existed = IncidentLink.objects.filter(
            incident=data["incident"], prior=data["prior"], relation=data["relation"]
        ).exists()
        link = actions.link_incidents(**data)
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return self._link_response(link.pk, code)

    def partial_update(self, request, pk: str):
        link = self.get_object()
        serializer = self._input(link, data=json_body(request), partial=True)
        fields = dict(serializer.validated_data)
        sources = fields.pop("sources", None)
        actions.update_link(link, fields=fields, sources=sources)
        return self._link_response(link.pk, status.HTTP_200_OK)

    def destroy(self, request, pk: str):
        actions.unlink_incidents(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _input(self, *args, **kwargs) -> LinkInput:
        serializer = LinkInput(*args, visible_incidents=Incident.objects.visible_to(self.request.user), **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer

    def _link_response(self, pk: int, code: int) -> Response:
        link = IncidentLink.objects.select_related("incident", "prior").prefetch_related("sources").get(pk=pk)
        response = Response(LinkSerializer(link).data, status=code)
        response["Location"] = self.request.build_absolute_uri(f"/api/v1/links/{pk}/")
        return response
