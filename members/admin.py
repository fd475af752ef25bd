"""Django admin for accounts, sign-in throttles and invitations (staff only)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from members.models import Invitation, LoginThrottle, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "display_name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "display_name"]}),
        # Org groups are derived from memberships; editing them here would bypass the roles.
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    list_filter = ["is_staff", "is_active"]


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin):
    list_display = ["email", "ip_address", "failures", "locked_until"]
    search_fields = ["email", "ip_address"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations change only through the services (limits, audit, emails)."""

    list_display = ["email", "organization", "role", "invited_by", "created_at", "expires_at"]
    list_filter = ["role"]
    search_fields = ["email", "organization__slug", "organization__name"]
    list_select_related = ["organization", "invited_by"]
    exclude = ["token_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
