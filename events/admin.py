from django.contrib import admin, messages
from leaflet.admin import LeafletGeoAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from .actions import announce_publication
from .job_admin import QUEUE_DOWN
from .models import Casualty, Incident, IncidentLink, Involvement


class InvolvementInline(admin.TabularInline):
    model = Involvement
    extra = 1
    autocomplete_fields = ["actor"]


class CasualtyInline(admin.TabularInline):
    model = Casualty
    extra = 0


class LinkOutInline(admin.TabularInline):
    model = IncidentLink
    fk_name = "incident"
    extra = 0
    autocomplete_fields = ["prior", "sources"]
    verbose_name = "link to an earlier incident"
    verbose_name_plural = "links to earlier incidents (this incident is a response to …)"


class LinkInInline(admin.TabularInline):
    model = IncidentLink
    fk_name = "prior"
    extra = 0
    autocomplete_fields = ["incident", "sources"]
    verbose_name = "later incident linked to this one"
    verbose_name_plural = "later incidents linked to this one (… responds to this incident)"


@admin.register(Incident)
class IncidentAdmin(LeafletGeoAdminMixin, SimpleHistoryAdmin):
    list_display = ["occurred_on", "title", "kind", "country", "status", "casualties_best"]
    list_filter = ["status", "kind", "country", "attribution", "date_precision", "dataset"]
    search_fields = ["title", "summary", "place_name", "external_id"]
    date_hierarchy = "occurred_on"
    autocomplete_fields = ["base", "sources"]
    list_select_related = ["base"]
    readonly_fields = ["casualties_best", "fatalities_best", "nearest_base", "nearest_base_km", "created_by"]
    inlines = [InvolvementInline, CasualtyInline, LinkOutInline, LinkInInline]
    fieldsets = [
        ("When", {"fields": [("occurred_on", "date_precision")]}),
        ("What", {"fields": ["kind", "title", "summary", "attribution"]}),
        ("Where", {"fields": ["location", ("geo_precision", "place_name"), ("country", "admin1"), "base"]}),
        ("How", {"fields": [("weapon", "munitions")]}),
        ("Provenance", {"fields": ["sources", "status", ("dataset", "external_id")]}),
        (
            "Derived",
            {"fields": [("casualties_best", "fatalities_best"), ("nearest_base", "nearest_base_km"), "created_by"]},
        ),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        incident = form.instance
        incident.refresh_derived()
        was_published = change and form.initial.get("status") == Incident.Status.PUBLISHED
        if incident.status == Incident.Status.PUBLISHED and not was_published:
            # The webhook outbox rows are written in this transaction; a broker that is down only delays them.
            announce_publication(
                [incident.pk],
                on_queue_error=lambda exc: messages.warning(
                    request, QUEUE_DOWN.format(what="its webhook notifications")
                ),
            )


@admin.register(IncidentLink)
class IncidentLinkAdmin(SimpleHistoryAdmin):
    list_display = ["incident", "relation", "prior", "confidence", "asserted_by"]
    list_filter = ["relation", "confidence"]
    search_fields = ["incident__title", "prior__title", "asserted_by"]
    autocomplete_fields = ["incident", "prior", "sources"]
    list_select_related = ["incident", "prior"]
