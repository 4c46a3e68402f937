"""Source checks in the admin: a read-only history, filterable by outcome and status."""

from django.contrib import admin

from techmap.sourcecheck.models import SourceCheck


@admin.register(SourceCheck)
class SourceCheckAdmin(admin.ModelAdmin):
    list_display = ["url", "status_code", "ok", "refused", "error", "elapsed_ms", "checked_at"]
    list_filter = ["ok", "refused", "status_code", "checked_at"]
    search_fields = ["url", "final_url", "source__title", "error"]
    list_select_related = ["source"]
    date_hierarchy = "checked_at"
    ordering = ["-checked_at", "-id"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
