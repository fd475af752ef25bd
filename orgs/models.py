"""Organizations (the tenants), their role groups and object permissions, and the audit log."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from orgs.roles import Capability, Role


class Organization(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    billing_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        permissions = Capability.choices

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("orgs:overview", kwargs={"slug": self.slug})


class RoleGroup(models.Model):
    """One auth Group per (organization, role); its object permissions on the org are the role's."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="role_groups"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="role_group")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "role"], name="role_group_unique"),
        ]

    def __str__(self):
        return f"{self.organization} / {self.role}"


class OrganizationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class OrganizationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class AuditEvent(models.Model):
    """An append-only record of a change to an org. `details` never holds secrets."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text so the record still reads after the account is gone.
    actor_email = models.EmailField(blank=True)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["organization", "-id"], name="audit_org_newest")]

    def __str__(self):
        return f"{self.action} {self.target} by {self.actor_email or 'system'}"
