from django.contrib import admin
from leaflet.admin import LeafletGeoAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from .models import Actor, Affiliation, Base, BaseStatus, Side, Source, TroopLevel


@admin.register(Source)
class SourceAdmin(SimpleHistoryAdmin):
    list_display = ["publisher", "title", "published_on", "reliability"]
    list_filter = ["reliability", "publisher"]
    search_fields = ["publisher", "title", "url"]
    date_hierarchy = "published_on"


class AffiliationInline(admin.TabularInline):
    model = Affiliation
    fk_name = "actor"
    extra = 0
    autocomplete_fields = ["related"]


class SideMemberInline(admin.TabularInline):
    model = Actor
    fields = ["name", "kind", "country"]
    readonly_fields = ["name", "kind", "country"]
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "actors on this side (assign them on each actor's form)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Side)
class SideAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SideMemberInline]


@admin.register(Actor)
class ActorAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "country", "side"]
    list_filter = ["side", "kind", "country"]
    search_fields = ["name", "slug", "aliases"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["side"]
    list_select_related = ["side"]
    inlines = [AffiliationInline]


class BaseStatusInline(admin.TabularInline):
    model = BaseStatus
    extra = 0


@admin.register(Base)
class BaseAdmin(LeafletGeoAdminMixin, SimpleHistoryAdmin):
    list_display = ["name", "kind", "country"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "slug", "alternate_names"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["users", "sources"]
    inlines = [BaseStatusInline]


@admin.register(TroopLevel)
class TroopLevelAdmin(SimpleHistoryAdmin):
    list_display = ["contributor", "host_country", "status", "qualifier", "best", "as_of", "mission"]
    list_filter = ["status", "qualifier", "host_country", "contributor"]
    search_fields = ["contributor__name", "mission", "note"]
    date_hierarchy = "as_of"
    autocomplete_fields = ["contributor", "base", "sources"]
    list_select_related = ["contributor"]
