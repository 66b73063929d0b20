"""POST /api/v1/imports/: upload a file of incidents (multipart), imported by a Celery worker; GET to follow it.

The one API endpoint that takes multipart bodies (a file is the natural payload here), so it sets its own
parsers; everything else speaks JSON only.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.response import Response

from api.http import ApiMixin, api_exception_handler
from api.lists import ListPagination
from events import actions
from events.models import ImportJob, ImportRowError

SHOWN_ROW_ERRORS = 1000


class ImportPermissions(DjangoModelPermissions):
    """Import jobs are the editors' own business: reading them needs the view permission too."""

    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class RowErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRowError
        fields = ["row", "external_id", "reason"]


class ImportJobSerializer(serializers.ModelSerializer):
    draft = serializers.BooleanField(source="as_draft")
    created_by = serializers.CharField(source="created_by.username", default=None)
    percent = serializers.IntegerField(allow_null=True)
    counts = serializers.DictField(child=serializers.IntegerField())

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "format",
            "original_name",
            "dataset",
            "draft",
            "via",
            "status",
            "message",
            "rows_done",
            "rows_total",
            "percent",
            "counts",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ImportJobDetailSerializer(ImportJobSerializer):
    row_errors = serializers.SerializerMethodField(help_text=f"The first {SHOWN_ROW_ERRORS} rows that failed.")

    class Meta(ImportJobSerializer.Meta):
        fields = [*ImportJobSerializer.Meta.fields, "row_errors"]

    @extend_schema(responses=RowErrorSerializer(many=True))
    def get_row_errors(self, job: ImportJob) -> list[dict]:
        return RowErrorSerializer(job.row_errors.all()[:SHOWN_ROW_ERRORS], many=True).data


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="An ACLED CSV export, a UCDP GED CSV, or this project's GeoJSON or CSV export."
    )
    format = serializers.ChoiceField(choices=actions.UPLOAD_FORMATS, required=False, help_text="Guessed when left out.")
    dataset = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    draft = serializers.BooleanField(required=False, default=False, help_text="Import new incidents as drafts.")


class ImportPagination(ListPagination):
    page_size = 50
    max_page_size = 500


class ImportJobViewSet(ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Imports of incident files: upload one, then follow its progress and its rows that failed."""

    permission_classes = [IsAuthenticated, ImportPermissions]
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = ImportPagination
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")

    def get_serializer_class(self):
        if self.action == "create":
            return ImportUploadSerializer
        return ImportJobDetailSerializer if self.action == "retrieve" else ImportJobSerializer

    def get_exception_handler(self):
        def handler(exc, context):
            if isinstance(exc, exceptions.UnsupportedMediaType):
                exc = exceptions.ValidationError(
                    {"Content-Type": ["Send the file as multipart/form-data, in a field named 'file'."]}
                )
            return api_exception_handler(exc, context)

        return handler

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer}, responses={202: ImportJobSerializer})
    def create(self, request):
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        try:
            job = actions.start_import(
                file=data["file"],
                format=data.get("format"),
                dataset=data["dataset"],
                as_draft=data["draft"],
                via=ImportJob.Via.API,
                user=request.user,
            )
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        response = Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = request.build_absolute_uri(f"/api/v1/imports/{job.pk}/")
        return response
