"""The plain paginated lists: actors, sources, and the kinds of incident."""

from __future__ import annotations

from rest_framework import mixins, serializers, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, DjangoModelPermissionsOrAnonReadOnly
from rest_framework.response import Response

from api import schema
from api.filters import QueryReader
from api.http import ApiMixin, ApiView, json_body
from api.serializers import SourceDetailSerializer, SourceSerializer
from events.models import (
    ACLED_TYPES,
    KIND_CATEGORY,
    Kind,
)
from posture.models import Actor, Source


class ListPagination(PageNumberPagination):
    """Numbered pages of the plain lists. Their size is `limit`, as on every other list (or `page_size`, its
    older name here); a larger one is capped at `max_page_size`, and a bad one is a 400 naming it."""

    page_size = 100
    max_page_size = 1000
    query_parameters = frozenset({"page", "limit", "page_size"})

    def get_page_size(self, request) -> int:
        reader = QueryReader(request.query_params)
        given = {
            name: reader.integer(name, minimum=1, maximum=self.max_page_size, cap=True)
            for name in ("limit", "page_size")
            if reader.one(name) is not None
        }
        if len(given) > 1:
            reader.error("limit", "Give limit or page_size, not both.")
        page = reader.one(self.page_query_param)
        if page is not None and page != "last" and not (page.isdecimal() and page.isascii() and int(page) >= 1):
            reader.error(self.page_query_param, "Give a page number from 1 on.")
        reader.check()
        return next((size for size in given.values() if size is not None), self.page_size)

    def get_schema_operation_parameters(self, view):
        size = {"type": "integer", "minimum": 1, "default": self.page_size}
        described = f"Items per page; larger values are capped at {self.max_page_size}."
        return [
            {"name": "page", "required": False, "in": "query", "description": "A page number, from 1.",
             "schema": {"type": "integer", "minimum": 1}},
            {"name": "limit", "required": False, "in": "query", "description": described, "schema": size},
            {"name": "page_size", "required": False, "in": "query", "description": "The same as limit.",
             "schema": size},
        ]  # fmt: skip


class ActorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Actor
        fields = ["id", "slug", "name", "kind", "country", "aliases"]


@schema.actors
class ActorViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [AllowAny]
    serializer_class = ActorSerializer
    pagination_class = ListPagination
    lookup_value_regex = "[0-9]+"
    query_parameters = ListPagination.query_parameters
    versioned = True

    def get_queryset(self):
        return Actor.objects.order_by("name")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.reader(request).check()


@schema.sources
class SourceViewSet(ApiMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Citations. Editors may add one (POST) to cite it from a new incident or link."""

    permission_classes = [DjangoModelPermissionsOrAnonReadOnly]
    pagination_class = ListPagination
    lookup_value_regex = "[0-9]+"
    query_parameters = ListPagination.query_parameters
    versioned = True

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


@schema.kinds
class KindView(ApiView):
    """Incident kinds with their labels, map category and ACLED types, so clients never hard-code them."""

    permission_classes = [AllowAny]
    query_parameters = set()

    def get(self, request):
        self.reader(request).check()
        return Response(
            [
                {
                    "code": kind.value,
                    "label": kind.label,
                    "category": KIND_CATEGORY[kind].value,
                    "category_label": KIND_CATEGORY[kind].label,
                    "acled_event_type": ACLED_TYPES[kind][0],
                    "acled_sub_event_type": ACLED_TYPES[kind][1],
                }
                for kind in Kind
            ]
        )
