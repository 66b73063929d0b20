from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from leaflet.admin import LeafletGeoAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from posture import admin as posture_admin
from posture.models import Actor, Base, Side

from . import actions
from .cycles.review import accept_suggestions, queue_refresh, reject_suggestions

# The admins of the imports and of the webhook notifications live beside their code, in imports.admin and
# notifications.admin: Django's autodiscovery imports this module only, and importing those registers them.
from .imports import admin as imports_admin  # noqa: F401
from .models import (
    Casualty,
    Incident,
    IncidentLink,
    Involvement,
    LinkSuggestion,
    SuggestionRejection,
    validate_editor_reason,
)
from .notifications import admin as notifications_admin  # noqa: F401
from .notifications.outbox import QUEUE_DOWN


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


class IncidentForm(forms.ModelForm):
    """The incident admin's form: a status menu without "retracted" (only a source's sync retracts), and on a
    change the editor's reason for it, which the public history shows beside the change."""

    # The history's change reason column holds 100 characters, as the API's PATCH "reason".
    reason = forms.CharField(
        label="Reason for change",
        required=False,
        max_length=100,
        validators=[validate_editor_reason],
        help_text="Optional: the public history shows it beside this change, as an editor's.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            del self.fields["reason"]  # a reason goes with a change, not with a new incident
        status = self.fields.get("status")
        if status is None:
            return
        status.choices = [(value, label) for value, label in status.choices if value != Incident.Status.RETRACTED]
        if self.instance.retracted:
            # Left blank it stays retracted; draft or published restores it (events.actions.write_incident
            # clears its reason and time).
            status.choices = [("", "— keep it retracted —"), *status.choices]
            status.required = False
            self.initial["status"] = ""

    def clean_status(self):
        status = self.cleaned_data.get("status")
        return status or (Incident.Status.RETRACTED if self.instance.retracted else status)


@admin.register(Incident)
class IncidentAdmin(LeafletGeoAdminMixin, SimpleHistoryAdmin):
    form = IncidentForm
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
    retraction_fields = ["retraction_status", "retracted_reason", "retracted_at"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        if obj.retracted:
            description = (
                "Its source withdrew it (ACLED deleted it, or a newer UCDP GED left it out): it is out of every "
                "public list, count and figure, and its page answers 410 Gone. Only a source's sync retracts; "
                "the same source sending it again restores it. To restore it by hand, set its status under "
                "Provenance to published (or draft): its retraction's reason and time are then cleared."
            )
            fieldsets.insert(
                0, ("Retracted by its source", {"fields": [self.retraction_fields], "description": description})
            )
        # A reader who may only view it has no form to give a reason in.
        return [*fieldsets, ("Why", {"fields": ["reason"]})] if self.has_change_permission(request, obj) else fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, *self.retraction_fields] if obj is not None and obj.retracted else readonly

    @admin.display(description="status")
    def retraction_status(self, obj: Incident) -> str:
        return Incident.Status.RETRACTED.label  # shown only for a retracted incident

    def save_model(self, request, obj, form, change):
        # The row is written once, in save_related, after its actors, casualties, sources and links; its
        # history row takes the editor's reason as the API's PATCH passes it (simple-history's _change_reason).
        if not change:
            obj.created_by = request.user
        else:
            obj._change_reason = form.cleaned_data.get("reason") or None

    def save_related(self, request, form, formsets, change):
        # Its links, actors or date may have changed what it answers and what answers it.
        later = [
            inline.instance.incident_id
            for fs in formsets
            if fs.model is IncidentLink and fs.fk.name == "prior"
            for inline in fs.forms
            if inline.instance.incident_id
        ]
        with actions.write_incident(
            form.instance,
            was_published=change and form.initial.get("status") == Incident.Status.PUBLISHED,
            also_refresh=later,
            # The webhook outbox rows are written in this transaction; a broker that is down only delays them.
            on_queue_error=lambda exc: messages.warning(request, QUEUE_DOWN.format(what="its webhook notifications")),
        ):
            super().save_related(request, form, formsets, change)


class FreesPairsOnDelete:
    """For rows naming a pair (incident, prior) that keeps it out of the suggestions: a link, a rejection.
    Deleting one lets its incident's suggestions be computed again."""

    def delete_queryset(self, request, queryset):
        ids = list(queryset.values_list("incident_id", flat=True))
        super().delete_queryset(request, queryset)
        queue_refresh(ids)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        queue_refresh([obj.incident_id])


@admin.register(IncidentLink)
class IncidentLinkAdmin(FreesPairsOnDelete, SimpleHistoryAdmin):
    list_display = ["incident", "relation", "prior", "confidence", "asserted_by"]
    list_filter = ["relation", "confidence"]
    search_fields = ["incident__title", "prior__title", "asserted_by"]
    autocomplete_fields = ["incident", "prior", "sources"]
    list_select_related = ["incident", "prior"]

    def save_model(self, request, obj, form, change):
        was_for = form.initial.get("incident")  # a link moved to another incident frees the pair it had
        super().save_model(request, obj, form, change)
        queue_refresh({obj.incident_id, was_for} - {None})


def _incident_link(incident: Incident) -> str:
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:events_incident_change", args=[incident.pk]), str(incident)
    )


@admin.register(LinkSuggestion)
class LinkSuggestionAdmin(admin.ModelAdmin):
    """The review queue: suggestions best first, accepted or rejected in bulk."""

    list_display = ["score", "later_incident", "relation", "earlier_incident", "lag_days", "distance_km", "rank"]
    list_display_links = None
    list_filter = ["relation", "rank", "incident__kind"]
    search_fields = ["incident__title", "prior__title"]
    list_select_related = ["incident", "prior"]
    ordering = ["-score", "incident_id", "rank"]
    actions = ["accept", "reject"]
    list_per_page = 50

    @admin.display(description="incident", ordering="incident__occurred_on")
    def later_incident(self, suggestion: LinkSuggestion) -> str:
        return _incident_link(suggestion.incident)

    @admin.display(description="may answer", ordering="prior__occurred_on")
    def earlier_incident(self, suggestion: LinkSuggestion) -> str:
        return _incident_link(suggestion.prior)

    def has_add_permission(self, request) -> bool:
        return False  # derived: events.cycles.suggestions writes them

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # rejecting is how one goes

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # nothing to edit; the actions review them

    def has_accept_permission(self, request) -> bool:
        user = request.user
        return user.has_perm("events.change_linksuggestion") and user.has_perm("events.add_incidentlink")

    def has_reject_permission(self, request) -> bool:
        user = request.user
        return user.has_perm("events.change_linksuggestion") and user.has_perm("events.add_suggestionrejection")

    @admin.action(description="Accept: link each pair, confirmed from a suggestion", permissions=["accept"])
    def accept(self, request, queryset):
        links = accept_suggestions(queryset, user=request.user)
        self.message_user(request, f"{len(links)} links made, citing both incidents' sources.", messages.SUCCESS)

    @admin.action(description="Reject: never suggest these pairs again", permissions=["reject"])
    def reject(self, request, queryset):
        count = reject_suggestions(queryset, user=request.user)
        self.message_user(request, f"{count} suggestions rejected; they will not be suggested again.")


@admin.register(SuggestionRejection)
class SuggestionRejectionAdmin(FreesPairsOnDelete, admin.ModelAdmin):
    """Pairs editors said are not links. Deleting one lets the pair be suggested again."""

    list_display = ["incident", "prior", "rejected_by", "rejected_at"]
    list_select_related = ["incident", "prior", "rejected_by"]
    search_fields = ["incident__title", "prior__title"]
    date_hierarchy = "rejected_at"
    readonly_fields = ["incident", "prior", "rejected_by", "rejected_at"]

    def has_add_permission(self, request) -> bool:
        return False  # made by rejecting a suggestion

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# posture's admins of bases, actors and sides, taken over: posture knows nothing of incidents, and their writes
# queue what they change among the incidents (nearest bases, suggestions) through events.actions.
admin.site.unregister([Base, Actor, Side])


@admin.register(Base)
class BaseAdmin(posture_admin.BaseAdmin):
    def save_model(self, request, obj, form, change):
        actions.save_base(obj)

    def delete_model(self, request, obj):
        actions.delete_bases(Base.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        actions.delete_bases(queryset)


@admin.register(Actor)
class ActorAdmin(posture_admin.ActorAdmin):
    def save_model(self, request, obj, form, change):
        actions.save_actor(obj)


@admin.register(Side)
class SideAdmin(posture_admin.SideAdmin):
    def delete_model(self, request, obj):
        actions.delete_sides(Side.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        actions.delete_sides(queryset)
