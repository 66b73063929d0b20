"""Admin for the imports: upload a file and follow its job, and the ACLED sync's state. Registered by
events.admin."""

from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from .. import actions, tasks
from ..models import ImportJob, SyncState
from ..notifications.outbox import QUEUE_DOWN, queue_after_commit

SHOWN_ROW_ERRORS = 200


class ImportUploadForm(forms.ModelForm):
    format = forms.ChoiceField(
        choices=[("", "Guess from the file"), *[c for c in ImportJob.Format.choices if c[0] in actions.UPLOAD_FORMATS]],
        required=False,
    )

    class Meta:
        model = ImportJob
        fields = ["file", "format", "dataset", "as_draft"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].required = True
        self.fields["file"].help_text = (
            "An ACLED CSV export, a UCDP GED CSV, or this project's GeoJSON or CSV export (Imports, sync and "
            "notifications in the README)."
        )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None:
            try:
                cleaned["format"] = actions.check_upload(upload, cleaned.get("format") or None)
            except ValidationError as exc:
                for name, problems in exc.message_dict.items():
                    self.add_error(name if name in self.fields else None, problems)
        return cleaned


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["__str__", "original_name", "status", "progress", "counts", "via", "created_by", "created_at"]
    list_filter = ["status", "format", "via"]
    search_fields = ["original_name", "dataset"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "original_name",
        "format",
        "dataset",
        "as_draft",
        "via",
        "status",
        "message",
        "progress",
        "counts",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "row_errors_table",
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ImportUploadForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["file", "format", "dataset", "as_draft"]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def has_change_permission(self, request, obj=None):
        # A job is followed, not edited; viewing needs only the view permission.
        return False

    def has_delete_permission(self, request, obj=None):
        # A running import's worker is reading the file and writing rows under the job: it finishes (or
        # fails, or is resumed) first. A queued job the worker has not taken yet may go.
        if obj is not None and obj.status == ImportJob.Status.RUNNING:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        actions.delete_import_jobs(ImportJob.objects.filter(pk=obj.pk))  # its uploaded file too

    def delete_queryset(self, request, queryset):
        actions.delete_import_jobs(queryset)

    def save_form(self, request, form, change):
        return form.instance  # the job is recorded by start_import, in save_model

    def save_model(self, request, obj, form, change):
        # Only new jobs get here (a job is never changed): the upload becomes a job through start_import.
        job = actions.start_import(
            file=form.cleaned_data["file"],
            format=form.cleaned_data.get("format") or None,
            dataset=form.cleaned_data.get("dataset", ""),
            as_draft=form.cleaned_data.get("as_draft", False),
            via=ImportJob.Via.ADMIN,
            user=request.user,
            on_queue_error=lambda exc: messages.warning(request, QUEUE_DOWN.format(what="this import")),
        )
        obj.pk = job.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass  # a job has no relations an upload sets

    @admin.display(description="progress")
    def progress(self, obj: ImportJob) -> str:
        return obj.progress_label()

    @admin.display(description="created / updated / unchanged / failed")
    def counts(self, obj: ImportJob) -> str:
        return " / ".join(f"{value:,}" for value in obj.counts().values())

    @admin.display(description="rows that failed")
    def row_errors_table(self, obj: ImportJob):
        errors = list(obj.row_errors.all()[:SHOWN_ROW_ERRORS])
        if not errors:
            return "None." if obj.finished else "None so far."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.row, e.external_id or "—", e.reason) for e in errors),
        )
        more = ""
        if obj.failed_count > len(errors):
            more = f"The first {len(errors)} of {obj.failed_count:,}. "
        download = reverse("admin:events_importjob_errors", args=[obj.pk])
        return format_html(
            '<p>{}<a href="{}">Download all as CSV</a></p>'
            "<table><thead><tr><th>Row</th><th>External id</th><th>Reason</th></tr></thead><tbody>{}</tbody></table>",
            more,
            download,
            rows,
        )

    def get_urls(self):
        errors = path(
            "<int:pk>/errors.csv",
            self.admin_site.admin_view(self.errors_csv),
            name="events_importjob_errors",
        )
        return [errors, *super().get_urls()]

    def errors_csv(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = get_object_or_404(ImportJob, pk=pk)
        if not self.has_view_permission(request, job):
            return HttpResponse(status=403)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        writer = csv.writer(response)
        writer.writerow(["row", "external_id", "reason"])
        writer.writerows(job.row_errors.values_list("row", "external_id", "reason").iterator())
        return response


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    """The Sync states page: each sync's last run, what it added, updated and retracted, and its error. The
    tokens it keeps are never shown: only whether it holds one, and until when."""

    list_display = ["name", "version", "last_run_at", "last_success_at", "added", "updated", "retracted", "failed",
                    "last_error"]  # fmt: skip
    readonly_fields = ["name", "version", "last_run_at", "last_success_at", "last_error", "last_job", "token",
                       "last_deleted_timestamp"]  # fmt: skip
    fields = ["name", "last_timestamp", *readonly_fields[1:]]
    list_select_related = ["last_job"]
    actions = ["run_now"]

    def has_add_permission(self, request):
        return False

    def _count(self, state: SyncState, field: str):
        return getattr(state.last_job, field) if state.last_job else None

    @admin.display(description="added")
    def added(self, state: SyncState):
        return self._count(state, "created_count")

    @admin.display(description="updated")
    def updated(self, state: SyncState):
        return self._count(state, "updated_count")

    @admin.display(description="retracted")
    def retracted(self, state: SyncState):
        return self._count(state, "retracted_count")

    @admin.display(description="failed")
    def failed(self, state: SyncState):
        return self._count(state, "failed_count")

    @admin.display(description="access token")
    def token(self, state: SyncState) -> str:
        if not state.access_token:
            return "none held"
        return f"held (not shown), expires {state.token_expires_at:%Y-%m-%d %H:%M} UTC"

    @admin.action(description="Run the selected syncs now", permissions=["view"])
    def run_now(self, request, queryset):
        by_name = {"acled": tasks.sync_acled, "ucdp": tasks.sync_ucdp}
        down: list[Exception] = []
        names = [state.name for state in queryset if state.name in by_name]
        for name in names:
            queue_after_commit(by_name[name], on_error=down.append)
        if down:
            self.message_user(
                request,
                "The job queue (Redis) is unreachable, so the sync could not be started now; beat runs it on its "
                "schedule once the queue is back.",
                messages.WARNING,
            )
        elif names:
            self.message_user(request, f"Queued: {', '.join(names)}. Reload this page to see the run.")
