"""Releases in the admin: readable, never added, changed or deleted there (use the CLI)."""

from django.contrib import admin

from techmap.releases.models import Release


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["name", "created", "entry_count", "notes"]
    search_fields = ["name", "notes"]
    readonly_fields = ["name", "notes", "created", "entry_count", "counts"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # `techmap release create` writes the files and the snapshot together

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
