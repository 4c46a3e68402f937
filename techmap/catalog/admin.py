"""The curation back office: every catalogue model in the Django admin."""

from django.contrib import admin, messages

from techmap.catalog.models import Category, Company, Country, Entry, EntrySource, Source, Topic


class EntrySourceInline(admin.TabularInline):
    model = EntrySource
    extra = 1
    autocomplete_fields = ["source"]
    ordering = ["position"]


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ["public_id", "title", "category", "country", "status", "highlight", "updated"]
    list_filter = ["status", "category", "highlight", "precision", "companies", "country__region"]
    search_fields = ["public_id", "title", "description", "city", "country__name"]
    autocomplete_fields = ["companies", "topics", "country", "category", "secondary_category"]
    readonly_fields = ["created", "updated"]
    inlines = [EntrySourceInline]
    list_select_related = ["category", "country"]
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
        ("Record", {"fields": ["created", "updated"]}),
    ]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        entry = form.instance
        # Sources are saved by the inline after the entry itself, so the rule
        # "no source, no publication" can only be checked here.
        if entry.status == Entry.Status.PUBLISHED and not entry.entry_sources.exists():
            Entry.objects.filter(pk=entry.pk).update(status=Entry.Status.DRAFT)
            self.message_user(
                request,
                f"“{entry.title}” was kept as a draft: "
                "an entry without a source cannot be published.",
                messages.WARNING,
            )


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["title", "publisher", "publication_date", "url"]
    search_fields = ["title", "publisher", "author", "url", "key"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "name_zh", "ownership", "party_branches"]
    search_fields = ["name", "name_zh", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["sources", "party_source"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "plural", "color", "position"]
    list_editable = ["position"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ["name", "iso2", "iso3", "region", "subregion"]
    list_filter = ["region"]
    search_fields = ["name", "iso2", "iso3"]
