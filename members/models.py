"""People: user accounts (email is the login), sign-in throttling and invitations."""

import hashlib

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from orgs.roles import Role
from prism_site.addresses import EMAIL_MAX_LENGTH, normalize_email


def token_digest(token: str) -> str:
    """What an invitation stores instead of its token: the SHA-256 of it, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("email: an email address is required")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username):
        return self.get(email=normalize_email(username))


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", max_length=EMAIL_MAX_LENGTH, unique=True)
    display_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the Django admin site.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def name(self) -> str:
        return self.display_name or self.email.split("@")[0]

    def get_full_name(self) -> str:
        return self.display_name or self.email

    def get_short_name(self) -> str:
        return self.name


class LoginThrottle(models.Model):
    """Failed sign-ins per (email as typed, IP); the email need not belong to an account."""

    email = models.CharField(max_length=EMAIL_MAX_LENGTH)
    ip_address = models.GenericIPAddressField()
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email", "ip_address"], name="login_throttle_unique"),
        ]

    def __str__(self):
        return f"{self.email} from {self.ip_address}: {self.failures} failures"


class Invitation(models.Model):
    """An emailed offer to join an org with a role; only a hash of its link's token is kept."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(max_length=EMAIL_MAX_LENGTH)
    role = models.CharField(max_length=16, choices=Role.choices)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The last delivery attempt that failed (cleared by a successful send), shown on the row.
    delivery_failed_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="invitation_org_newest"),
        ]

    def __str__(self):
        return f"{self.email} to {self.organization} as {self.role}"

    @property
    def is_open(self) -> bool:
        """Neither accepted nor revoked: it can still be resent, revoked, or (unexpired) used."""
        return self.accepted_at is None and self.revoked_at is None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.is_expired:
            return "expired"
        if self.delivery_failed_at:
            return "not_delivered"
        return "pending"


class InvitationEmail(models.Model):
    """One row per invitation email queued (invite or resend): the daily limits count these."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+"
    )
    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="emails")
    sender = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(max_length=EMAIL_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "created_at"], name="invite_email_org_time"),
            models.Index(
                fields=["organization", "email", "created_at"], name="invite_email_address_time"
            ),
            models.Index(fields=["sender", "created_at"], name="invite_email_sender_time"),
        ]

    def __str__(self):
        return f"invitation email to {self.email} at {self.created_at:%Y-%m-%d %H:%M}"


class PersonalAccessToken(models.Model):
    """An account's own credential for the admin API: acts as its user in every org of theirs,
    with their role there at the time of each call. Only the SHA-256 of the secret is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100)
    public_id = models.CharField("token id", max_length=40, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    # What a person sees to recognise the token: "prism_pat_ab12" … "wxyz".
    secret_prefix = models.CharField(max_length=20, editable=False)
    secret_last4 = models.CharField(max_length=4, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at", "-id"], name="token_user_newest")]

    def __str__(self):
        return f"{self.name} ({self.public_id})"

    def status_at(self, now) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    @property
    def status(self) -> str:
        return self.status_at(timezone.now())

    @property
    def masked_secret(self) -> str:
        return f"{self.secret_prefix}…{self.secret_last4}"
