"""Django admin for organizations and their audit log (staff only)."""

from django.contrib import admin

from orgs.models import AuditEvent, Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["slug", "created_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "actor_email", "action", "target"]
    list_filter = ["action"]
    search_fields = ["actor_email", "target", "organization__slug"]
    list_select_related = ["organization"]

    def has_change_permission(self, request, obj=None):
        return False
