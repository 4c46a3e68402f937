"""The curation back office: every catalogue model in the Django admin.

Every edit is recorded (SimpleHistoryAdmin: the "History" button shows who changed what),
and entries, sources and companies refuse to save over a newer version (VersionedModelForm).
"""

from django.contrib import admin, messages
from django.db import transaction
from django.urls import path
from simple_history.admin import SimpleHistoryAdmin

from techmap.catalog import admin_views
from techmap.catalog.history import refresh_latest_snapshot
from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source, Topic
from techmap.catalog.versioning import VersionedModelForm

LOCATION_WIDGET_MEDIA = {
    "css": {"all": ["vendor/maplibre-gl/maplibre-gl.css", "catalog/location_widget.css"]},
    "js": [
        "vendor/topojson-client/topojson-client.min.js",
        "vendor/maplibre-gl/maplibre-gl-csp.js",
        "web/outlines.js",
        "catalog/location_widget.js",
    ],
}


class HistoryAdmin(SimpleHistoryAdmin):
    """SimpleHistoryAdmin that writes one history row per admin save, relations included.

    The admin saves the object, then its many-to-many fields and inlines; left alone,
    simple_history would add a row for every relation change. Relation signals are muted
    while the form's relations are saved, then the save's row gets their final state.
    """

    def save_related(self, request, form, formsets, change):
        instance = form.instance
        instance.skip_history_when_saving = True
        try:
            super().save_related(request, form, formsets, change)
        finally:
            del instance.skip_history_when_saving
        refresh_latest_snapshot(instance)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # Reverting to a past version starts from the current version, not the past one's,
        # and runs in one transaction as the change view does.
        request.techmap_reverting = True
        with transaction.atomic():
            return super().history_form_view(request, object_id, version_id, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if getattr(request, "techmap_reverting", False) and hasattr(
            form, "base_version_from_database"
        ):
            form = type(form.__name__, (form,), {"base_version_from_database": True})
        return form


class EntrySourceInline(admin.TabularInline):
    model = EntrySource
    extra = 1
    autocomplete_fields = ["source"]
    ordering = ["position"]


@admin.register(Entry)
class EntryAdmin(HistoryAdmin):
    form = VersionedModelForm
    list_display = ["public_id", "title", "category", "country", "status", "highlight", "updated"]
    list_filter = [
        "status",
        "category",
        "highlight",
        "precision",
        "companies",
        "topics",
        "country__region",
    ]
    search_fields = [
        "public_id",
        "title",
        "description",
        "city",
        "country__name",
        "companies__name",
    ]
    autocomplete_fields = ["companies", "topics", "country", "category", "secondary_category"]
    readonly_fields = ["created", "updated", "version"]
    inlines = [EntrySourceInline]
    list_select_related = ["category", "country"]
    change_list_template = "admin/catalog/entry/change_list.html"

    class Media:
        css = LOCATION_WIDGET_MEDIA["css"]
        js = LOCATION_WIDGET_MEDIA["js"]

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "public_id",
                    "title",
                    "status",
                    "highlight",
                    "companies",
                    "category",
                    "secondary_category",
                    "topics",
                ]
            },
        ),
        (
            "Place",
            {
                "fields": [
                    "country",
                    "city",
                    "address",
                    "latitude",
                    "longitude",
                    "precision",
                    "line_geometry",
                ]
            },
        ),
        (
            "Details",
            {
                "fields": [
                    "partners",
                    "financing_lender",
                    "financing_amount",
                    "financing_currency",
                    "year_started",
                    "year_ended",
                    "description",
                    "external_refs",
                ]
            },
        ),
        ("Record", {"fields": ["base_version", "version", "created", "updated"]}),
    ]

    def get_urls(self):
        def import_view(request):
            return admin_views.import_entries(request, self.admin_site)

        view = self.admin_site.admin_view(import_view)
        return [path("import/", view, name="catalog_entry_import"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_import": admin_views.can_import(request.user),
            "export_links": admin_views.EXPORT_LINKS,
        }
        return super().changelist_view(request, extra_context)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        entry = form.instance
        # Sources are saved by the inline after the entry itself, so the rule
        # "no source, no publication" can only be checked here.
        if entry.status == Entry.Status.PUBLISHED and not entry.entry_sources.exists():
            entry.status = Entry.Status.DRAFT
            Entry.objects.filter(pk=entry.pk).update(status=entry.status)
            # The history row of this save must say what was kept: a draft.
            latest = entry.history.order_by("-history_date", "-history_id").first()
            if latest is not None:
                type(latest).objects.filter(pk=latest.pk).update(status=entry.status)
            self.message_user(
                request,
                f"“{entry.title}” was kept as a draft: "
                "an entry without a source cannot be published.",
                messages.WARNING,
            )


@admin.register(Source)
class SourceAdmin(HistoryAdmin):
    form = VersionedModelForm
    list_display = ["title", "publisher", "publication_date", "url"]
    list_filter = ["language", "publisher"]
    search_fields = ["title", "publisher", "author", "url", "key"]
    readonly_fields = ["version"]


@admin.register(Company)
class CompanyAdmin(HistoryAdmin):
    form = VersionedModelForm
    list_display = ["name", "name_zh", "ownership", "party_branches"]
    list_filter = ["ownership"]
    search_fields = ["name", "name_zh", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["sources", "party_source"]
    readonly_fields = ["version"]


@admin.register(Category)
class CategoryAdmin(HistoryAdmin):
    list_display = ["name", "name_zh", "plural", "plural_zh", "color", "position"]
    list_editable = ["position"]
    search_fields = ["name", "name_zh", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Topic)
class TopicAdmin(HistoryAdmin):
    list_display = ["name", "name_zh", "slug"]
    search_fields = ["name", "name_zh", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ["name", "iso2", "iso3", "region", "subregion"]
    list_filter = ["region"]
    search_fields = ["name", "iso2", "iso3"]
