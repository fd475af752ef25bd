"""Django admin for virtual keys (staff only): read what a key is; secrets are never there."""

from django.contrib import admin

from keys.models import RetiredSecret, VirtualKey


class RetiredSecretInline(admin.TabularInline):
    model = RetiredSecret
    fields = ["secret_last4", "retired_at", "valid_until"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(VirtualKey)
class VirtualKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "public_id", "organization", "created_by", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "public_id", "organization__slug", "created_by__email"]
    list_select_related = ["organization", "created_by"]
    # Keys are created, rotated and revoked through the dashboard so the audit log sees them.
    readonly_fields = [
        "organization",
        "public_id",
        "secret_prefix",
        "secret_last4",
        "created_by",
        "created_at",
        "updated_at",
        "rotated_at",
        "revoked_at",
        "revoked_by",
        "last_used_at",
    ]
    exclude = ["secret_hash"]
    inlines = [RetiredSecretInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
