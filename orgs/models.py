"""Organizations (the tenants), who belongs to them (Membership), their role groups and object
permissions, the versioned config document with its encrypted provider secrets, the audit log."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from orgs.roles import ROLE_RANK, Capability, Role
from prism_site.addresses import EMAIL_MAX_LENGTH

# Where each role's members come in the member list: Owners first, then Admins, Members, Viewers.
_ROLE_POSITION = {
    role: str(position)
    for position, role in enumerate(sorted(ROLE_RANK, key=ROLE_RANK.get, reverse=True), start=1)
}


def membership_sort_key(role: str, email: str) -> str:
    """A member's place in the member list: role (Owners first), then email. Stored on the row,
    so the list reads a page through an index instead of sorting the whole org each time."""
    return f"{_ROLE_POSITION[Role(role)]}:{email}"


class Organization(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    billing_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The version in force; services move it under a row lock (the optimistic-concurrency point).
    config_version = models.ForeignKey(
        "ConfigVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        permissions = Capability.choices

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("orgs:overview", kwargs={"slug": self.slug})


class Membership(models.Model):
    """The source of truth for who belongs to which organization with which role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # Refreshed by org pages at most every LAST_SEEN_PRECISION, so reading a page rarely writes.
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # `membership_sort_key(role, user.email)`, written by the services that set the role.
    sort_key = models.CharField(max_length=EMAIL_MAX_LENGTH + 2, editable=False)

    LAST_SEEN_PRECISION = timedelta(minutes=5)

    class Meta:
        # Created by the members app before Membership moved here beside its tenant; the table
        # kept its name so that no data moved.
        db_table = "members_membership"
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique"),
        ]
        indexes = [
            # The member list's order, and the same within one role (the role filter, and the
            # Owner counts of the services).
            models.Index(fields=["organization", "sort_key", "id"], name="membership_org_order"),
            models.Index(
                fields=["organization", "role", "sort_key", "id"], name="membership_org_role_order"
            ),
        ]

    def __str__(self):
        return f"{self.user} in {self.organization} as {self.role}"

    def mark_seen(self) -> None:
        """Record activity in the org: one UPDATE, and only when the stored time is stale."""
        now = timezone.now()
        if self.last_seen_at and now - self.last_seen_at < self.LAST_SEEN_PRECISION:
            return
        Membership.objects.filter(pk=self.pk).update(last_seen_at=now)
        self.last_seen_at = now


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
    # The public id of the API key the actor acted through; empty for the dashboard.
    api_key_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # The log's order (newest first), read from the position of a page on; each filter of
        # the page (action, actor's email, key) has its own, so a filtered page reads only the
        # rows it shows however long the log.
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="audit_org_newest"),
            models.Index(
                fields=["organization", "action", "-created_at", "-id"], name="audit_org_action"
            ),
            models.Index(
                fields=["organization", "actor_email", "-created_at", "-id"],
                name="audit_org_actor",
            ),
            models.Index(
                fields=["organization", "api_key_id", "-created_at", "-id"], name="audit_org_key"
            ),
        ]

    def __str__(self):
        return f"{self.action} {self.target} by {self.actor_email or 'system'}"


# What a version changed, in the words History shows.
CONFIG_SECTION_LABELS = {
    "providers": "Providers",
    "routing": "Routing",
    "caching": "Caching",
    "rate_limiting": "Rate limits",
    "budgets": "Budgets",
    "ip_acl": "IP access",
    "document": "Config document",
    "restore": "Restore",
    "initial": "Created",
}


class ConfigVersion(models.Model):
    """One immutable version of an org's config document (SPEC §4).

    `document` is the validated document as stored: provider secrets appear only as references
    to `ProviderSecret` rows with their mask, never in plaintext.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="config_versions"
    )
    number = models.PositiveIntegerField()
    document = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text so history still names the author after the account is gone.
    author_email = models.EmailField(blank=True)
    message = models.CharField(max_length=200, blank=True)
    # What the change touched ("budgets", "providers", "document", "restore"), for history.
    section = models.CharField(max_length=32, blank=True)
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="config_version_number_unique"
            ),
        ]

    def __str__(self):
        return f"{self.organization_id} v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Config versions are immutable; save a new version instead.")
        super().save(*args, **kwargs)

    @property
    def section_label(self) -> str:
        if self.restored_from:
            return f"Restored v{self.restored_from}"
        return CONFIG_SECTION_LABELS.get(self.section, self.section or "Change")


class ProviderSecret(models.Model):
    """A provider API key, encrypted with AES-GCM under one of PROVIDER_SECRET_KEYS.

    Rows are never changed except to re-encrypt under a newer key, so every config version that
    references one can still be restored.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="provider_secrets"
    )
    # Which key encrypted it (a fingerprint, not the key): re-encryption finds old rows by it.
    key_id = models.CharField(max_length=16, db_index=True)
    ciphertext = models.TextField()
    masked = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.organization_id} {self.masked}"


# -- The admin API's bookkeeping ---------------------------------------------------------------


class ApiCallWindow(models.Model):
    """How many admin API calls one credential made in one minute: one row per credential and
    minute, counted up by an atomic upsert, so every worker process shares the limit. UNLOGGED on
    PostgreSQL (migration 0008): no call waits for a counter to reach the disk."""

    # The credential's public id: `key_…` or `pat_…`.
    credential = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "window_start"], name="api_call_window_unique"
            )
        ]
        indexes = [models.Index(fields=["window_start"], name="api_call_window_start")]

    def __str__(self):
        return f"{self.credential} {self.window_start:%H:%M}: {self.calls}"


class IdempotentRequest(models.Model):
    """A creating POST sent with an `Idempotency-Key`, and its first answer, replayed to a retry
    with the same key and body for 24 hours. The answer may hold a new key's secret, so it is
    stored encrypted (orgs/secrets.py, the provider-secret keys), never in clear."""

    credential = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=255)
    # What was asked: method and path, and the SHA-256 of the body (a different body is refused).
    request = models.CharField(max_length=300)
    body_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    # Bound to `organization_id` (0 when the answer belongs to no org yet).
    organization_id_bound = models.BigIntegerField(default=0)
    key_id = models.CharField(max_length=16)
    ciphertext = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "idempotency_key"], name="idempotent_request_unique"
            )
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotent_request_expiry")]

    def __str__(self):
        return f"{self.credential} {self.idempotency_key} → {self.status}"
