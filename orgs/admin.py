"""Django admin for organizations, their config versions and audit log (staff only, read-only
where the record must not change)."""

from django.contrib import admin

from orgs.models import AuditEvent, ConfigVersion, Organization, ProviderSecret


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["slug", "created_at", "config_version"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "actor_email", "action", "target"]
    list_filter = ["action"]
    search_fields = ["actor_email", "target", "organization__slug"]
    list_select_related = ["organization"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ConfigVersion)
class ConfigVersionAdmin(admin.ModelAdmin):
    """Versions are immutable: staff may read them (secrets appear only as references)."""

    list_display = ["organization", "number", "section", "author_email", "created_at"]
    search_fields = ["organization__slug", "author_email", "message"]
    list_select_related = ["organization"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProviderSecret)
class ProviderSecretAdmin(admin.ModelAdmin):
    """Only the mask and key fingerprint; the ciphertext is of no use to a person."""

    list_display = ["organization", "masked", "key_id", "created_at"]
    fields = ["organization", "masked", "key_id", "created_at"]
    search_fields = ["organization__slug"]
    list_select_related = ["organization"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
