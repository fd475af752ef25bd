"""Django admin for organizations, their memberships, config versions and audit log (staff only,
read-only where the record must not change)."""

from django.contrib import admin

from orgs.models import AuditEvent, ConfigVersion, Membership, Organization, ProviderSecret
from orgs.services import organization_delete
from prism_site.actor import Actor


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    """Read-only but deletable: a delete goes through the service that removes the org's
    permission groups too; renames belong to the Owner's settings page (audited)."""

    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["name", "slug", "billing_email", "created_at", "config_version"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_deleted_objects(self, objs, request):
        # Everything of an org goes with it, including the rows staff may not delete one by one
        # (audit events, config versions, memberships).
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request, obj):
        organization_delete(organization=obj, actor=Actor.for_request(request))

    def delete_queryset(self, request, queryset):
        for organization in queryset:
            organization_delete(organization=organization, actor=Actor.for_request(request))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff read these records; every change goes through a service (or never happens)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log is append-only, for staff too."""

    list_display = ["created_at", "organization", "actor_email", "action", "target"]
    list_filter = ["action"]
    search_fields = ["actor_email", "target", "organization__slug"]
    list_select_related = ["organization"]


@admin.register(ConfigVersion)
class ConfigVersionAdmin(ReadOnlyAdmin):
    """Versions are immutable: staff may read them (secrets appear only as references)."""

    list_display = ["organization", "number", "section", "author_email", "created_at"]
    search_fields = ["organization__slug", "author_email", "message"]
    list_select_related = ["organization"]


@admin.register(ProviderSecret)
class ProviderSecretAdmin(ReadOnlyAdmin):
    """Only the mask and key fingerprint; the ciphertext is of no use to a person."""

    list_display = ["organization", "masked", "key_id", "created_at"]
    fields = ["organization", "masked", "key_id", "created_at"]
    search_fields = ["organization__slug"]
    list_select_related = ["organization"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name", "organization__slug"]
    list_select_related = ["user", "organization"]
    # Role changes and removals go through the services that keep guardian permissions in
    # step and an Owner in every org; the admin only shows memberships.
    readonly_fields = ["user", "organization", "role", "created_at"]
