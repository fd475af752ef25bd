"""Virtual API keys: the key and its restrictions, retired secrets, and "own key" rights."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from guardian.models import UserObjectPermissionBase


class Scope(models.TextChoices):
    GATEWAY = "gateway", "Gateway (send requests through Prism)"
    ADMIN = "admin", "Admin API (acts with its creator's role)"


class BudgetPeriod(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    TOTAL = "total", "Total (never resets)"


class KeyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class KeyPermission(models.TextChoices):
    """Object permissions on one key, granted to its creator ("own key" rights of SPEC §2)."""

    ROTATE = "rotate_virtualkey", "Rotate this key"
    REVOKE = "revoke_virtualkey", "Revoke this key"


class RotationGrace(models.TextChoices):
    NONE = "none", "None: the old secret stops working now"
    HOUR = "1h", "1 hour"
    DAY = "24h", "24 hours"
    WEEK = "7d", "7 days"


GRACE_DURATIONS = {
    RotationGrace.NONE: timedelta(0),
    RotationGrace.HOUR: timedelta(hours=1),
    RotationGrace.DAY: timedelta(hours=24),
    RotationGrace.WEEK: timedelta(days=7),
}


class VirtualKeyQuerySet(models.QuerySet):
    def revoked(self):
        return self.filter(revoked_at__isnull=False)

    def expired(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__lte=now)

    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True
        )

    def with_status(self, status: str, now=None):
        if status == KeyStatus.ACTIVE:
            return self.active(now)
        if status == KeyStatus.EXPIRED:
            return self.expired(now)
        if status == KeyStatus.REVOKED:
            return self.revoked()
        return self


class VirtualKey(models.Model):
    """One key of one organization. The secret itself is never stored, only its SHA-256 hash."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="virtual_keys"
    )
    public_id = models.CharField("key id", max_length=40, unique=True, editable=False)
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)

    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    # What a person sees to recognise the key: "sk-prism-ab12" … "wxyz".
    secret_prefix = models.CharField(max_length=20, editable=False)
    secret_last4 = models.CharField(max_length=4, editable=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Every change (edit, rotate, revoke) moves it: the gateway syncs keys changed since a cursor.
    updated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    rate_limit_rpm = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_tpm = models.PositiveIntegerField(null=True, blank=True)
    allowed_models = models.JSONField(default=list, blank=True)
    allowed_ips = models.JSONField(default=list, blank=True)
    budget_limit = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    budget_period = models.CharField(max_length=10, choices=BudgetPeriod.choices, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    objects = VirtualKeyQuerySet.as_manager()

    class Meta:
        permissions = KeyPermission.choices
        indexes = [
            # The inventory's order (newest first), for the org and for "created by me".
            models.Index(fields=["organization", "-created_at", "-id"], name="key_org_newest"),
            models.Index(
                fields=["organization", "created_by", "-created_at", "-id"],
                name="key_org_creator_newest",
            ),
            # The gateway's key sync reads every key changed after a cursor, oldest first.
            models.Index(fields=["updated_at", "id"], name="key_changed_since"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(budget_limit__isnull=True) & Q(budget_period=""))
                | (Q(budget_limit__isnull=False) & ~Q(budget_period="")),
                name="key_budget_limit_with_period",
            ),
            models.CheckConstraint(
                condition=Q(budget_limit__isnull=True) | Q(budget_limit__gte=0),
                name="key_budget_limit_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(rate_limit_rpm__isnull=True) | Q(rate_limit_rpm__gt=0),
                name="key_rate_limit_rpm_positive",
            ),
            models.CheckConstraint(
                condition=Q(rate_limit_tpm__isnull=True) | Q(rate_limit_tpm__gt=0),
                name="key_rate_limit_tpm_positive",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.public_id})"

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_loaded_organization_id", None)
        if loaded is not None and loaded != self.organization_id:
            raise ValidationError(
                {"organization": "A key belongs to the org it was created in; it cannot be moved."}
            )
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse(
            "keys:detail", kwargs={"slug": self.organization.slug, "key_id": self.public_id}
        )

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        # Remembered so save() can refuse moving the key to another org.
        instance._loaded_organization_id = instance.__dict__.get("organization_id")
        return instance

    def status_at(self, now) -> KeyStatus:
        if self.revoked_at is not None:
            return KeyStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return KeyStatus.EXPIRED
        return KeyStatus.ACTIVE

    @property
    def status(self) -> KeyStatus:
        return self.status_at(timezone.now())

    @property
    def masked_secret(self) -> str:
        return f"{self.secret_prefix}…{self.secret_last4}"

    @property
    def has_restrictions(self) -> bool:
        return bool(
            self.rate_limit_rpm
            or self.rate_limit_tpm
            or self.allowed_models
            or self.allowed_ips
            or self.budget_limit is not None
        )


class RetiredSecret(models.Model):
    """A secret replaced by rotation; it keeps working until `valid_until` (the grace period)."""

    key = models.ForeignKey(VirtualKey, on_delete=models.CASCADE, related_name="retired_secrets")
    secret_hash = models.CharField(max_length=64, unique=True)
    secret_last4 = models.CharField(max_length=4)
    retired_at = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "-valid_until"], name="retired_secret_key_latest")]

    def __str__(self):
        return f"…{self.secret_last4} of {self.key_id} (until {self.valid_until:%Y-%m-%d %H:%M})"


class VirtualKeyUserObjectPermission(UserObjectPermissionBase):
    """Guardian's direct-FK table for "own key" rights (rotate, revoke), granted to the creator."""

    content_object = models.ForeignKey(VirtualKey, on_delete=models.CASCADE)
