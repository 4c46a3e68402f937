"""Submissions in the admin, for editors. The review queue is the everyday tool; this is
the full record. The address hash is never shown, not even to staff: nothing needs it
but the rate limit and the purge."""

from django.contrib import admin

from techmap.contributions.models import RateLimitHit, Submission


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "status", "category", "country", "created"]
    list_filter = ["status", "category", "country__region"]
    search_fields = ["code", "title", "other_company_name", "company__name", "city"]
    date_hierarchy = "created"
    list_select_related = ["category", "country"]
    autocomplete_fields = ["company", "country", "category", "accepted_entry", "duplicate_of"]
    readonly_fields = ["code", "created", "address_kept", "reviewed_by", "reviewed_at"]
    exclude = ["address_hash", "address_hashed_at"]
    fieldsets = [
        (None, {"fields": ["code", "status", "created", "title", "description"]}),
        ("Who", {"fields": ["company", "other_company_name", "category"]}),
        ("Where", {"fields": ["country", "city", "latitude", "longitude"]}),
        ("When and sources", {"fields": ["year_started", "year_ended", "source_urls"]}),
        ("Private", {"fields": ["contact_email", "address_kept"]}),
        (
            "Review",
            {
                "fields": [
                    "reviewed_by",
                    "reviewed_at",
                    "review_reason",
                    "accepted_entry",
                    "duplicate_of",
                ]
            },
        ),
    ]

    @admin.display(description="Hashed address kept", boolean=True)
    def address_kept(self, obj):
        return bool(obj.address_hash)


@admin.register(RateLimitHit)
class RateLimitHitAdmin(admin.ModelAdmin):
    """Read-only: lets an admin see whether an address is being throttled right now."""

    list_display = ["key_hash", "window_start", "count"]
    ordering = ["-window_start"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
