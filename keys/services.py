"""Every write to a virtual key: create, edit, rotate, revoke.

Each checks the actor's rights itself (pages and the API call the same functions), validates
the rules that need the database (unique names, the org's models, the admin scope), writes an
audit entry without the secret, and returns the new secret only from create and rotate.
"""

import ipaddress
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from keys import secrets
from keys.models import (
    GRACE_DURATIONS,
    BudgetPeriod,
    RetiredSecret,
    RotationGrace,
    Scope,
    VirtualKey,
)
from keys.permissions import (
    CREATE,
    EDIT,
    GRANT_ADMIN_SCOPE,
    REVOKE,
    ROTATE,
    KeyRights,
    actor_key_rights,
    creator_rights_grant,
)
from keys.policy import OrgLimits
from keys.selectors import organization_limits
from orgs import audit
from orgs.errors import ActionRefused
from orgs.models import Organization
from orgs.selectors import organization_lock

METADATA_MAX_ENTRIES = 50
METADATA_MAX_LENGTH = 500
# What the columns hold on every database: rate limits are 32-bit integers on PostgreSQL, the
# budget is numeric(12, 2).
RATE_LIMIT_MAX = 2**31 - 1
BUDGET_LIMIT_MAX = Decimal("9999999999.99")
BUDGET_LIMIT_CENTS = Decimal("0.01")
# Retired secrets are kept a while after their grace ends, so lookup can say "rotated".
RETIRED_SECRET_MEMORY = timedelta(days=30)
# How much of a refused entry a message repeats: enough to find it, never a whole pasted file.
SHOWN_CHARACTERS = 60


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARACTERS else f"{text[:SHOWN_CHARACTERS]}…"


@dataclass
class KeyAttributes:
    """What a person chooses for a key (create and edit take the same shape)."""

    name: str
    scopes: list[str] = field(default_factory=lambda: [Scope.GATEWAY.value])
    expires_at: datetime | None = None
    rate_limit_rpm: int | None = None
    rate_limit_tpm: int | None = None
    allowed_models: list[str] = field(default_factory=list)
    allowed_ips: list[str] = field(default_factory=list)
    budget_limit: Decimal | None = None
    budget_period: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, key: VirtualKey) -> "KeyAttributes":
        return cls(**{f.name: getattr(key, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class IssuedKey:
    """A key with its secret: the only moment the secret exists outside the caller's hands."""

    key: VirtualKey
    secret: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SavedKey:
    key: VirtualKey
    warnings: tuple[str, ...] = ()


def _budget_amount(value) -> tuple[Decimal | None, str]:
    """(the amount in whole cents, "") or (None, what to fix): only what numeric(12, 2) holds."""
    unreadable = "enter an amount in USD such as 50 or 12.50, or leave it empty."
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None, unreadable
    if isinstance(value, int) and abs(value) > BUDGET_LIMIT_MAX:
        amount = Decimal(1 if value > 0 else -1).scaleb(12)  # no str() of a 5,000-digit int
    else:
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        return None, unreadable
    if amount < 0:
        return None, "enter an amount in USD of 0 or more, or leave it empty."
    if amount > BUDGET_LIMIT_MAX:
        return None, f"must be at most {BUDGET_LIMIT_MAX}."
    cents = amount.quantize(BUDGET_LIMIT_CENTS)
    if cents != amount:
        return None, "use at most 2 decimal places (whole cents)."
    # 0E+99999999 is zero and -0 is 0: the plain amount is what gets stored.
    return cents + 0, ""


def _clean_attributes(
    attributes: KeyAttributes,
    *,
    organization: Organization,
    org_limits: OrgLimits,
    rights: KeyRights,
    key: VirtualKey | None,
    now: datetime,
) -> tuple[KeyAttributes, list[str]]:
    """Check every rule; raise one ValidationError naming each bad field and its fix."""
    errors: dict[str, list[str]] = {}
    warnings: list[str] = []

    def refuse(name: str, message: str) -> None:
        errors.setdefault(name, []).append(f"{name}: {message}")

    texts = {
        "name": [attributes.name or ""],
        "allowed_models": list(attributes.allowed_models),
        "allowed_ips": list(attributes.allowed_ips),
        "metadata": [str(part) for item in (attributes.metadata or {}).items() for part in item],
    }
    for text_field, values in texts.items():
        # PostgreSQL stores no NUL in text or JSON.
        if any("\x00" in value for value in values if isinstance(value, str)):
            refuse(text_field, "remove the null character (\\x00).")

    name = (attributes.name or "").strip()
    if not name:
        refuse("name", "give the key a name, such as the service that will use it.")
    elif len(name) > 100:
        refuse("name", "use at most 100 characters.")

    scopes = sorted(set(attributes.scopes or []))
    valid_scopes = {scope.value for scope in Scope}
    if not scopes:
        refuse("scopes", "choose at least one scope (gateway to send requests through Prism).")
    elif unknown := [scope for scope in scopes if scope not in valid_scopes]:
        refuse("scopes", f"{', '.join(unknown)} is not a scope; use gateway and/or admin.")
    elif (
        Scope.ADMIN.value in scopes
        and Scope.ADMIN.value not in (key.scopes if key else [])
        and not rights.grant_admin_scope
    ):
        refuse("scopes", rights.refusal(GRANT_ADMIN_SCOPE))

    expires_at = attributes.expires_at
    unchanged_expiry = key is not None and key.expires_at == expires_at
    if expires_at is not None and expires_at <= now and not unchanged_expiry:
        refuse("expires_at", "pick a time in the future, or leave it empty for no expiry.")

    for limit in ("rate_limit_rpm", "rate_limit_tpm"):
        value = getattr(attributes, limit)
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value is not None and (not whole or value < 1):
            refuse(limit, "enter a whole number of at least 1, or leave it empty for no limit.")
        elif value is not None and value > RATE_LIMIT_MAX:
            refuse(limit, f"must be at most {RATE_LIMIT_MAX}.")

    allowed_models = sorted({model.strip() for model in attributes.allowed_models if model.strip()})
    offered = org_limits.models
    if allowed_models and offered is not None:
        missing = [model for model in allowed_models if model not in offered]
        if missing:
            refuse(
                "allowed_models",
                f"{', '.join(map(_shown, missing))} {'is' if len(missing) == 1 else 'are'} not "
                "offered by any "
                f"enabled provider of this org (offered: {', '.join(sorted(offered)) or 'none'}); "
                "remove it or add it to a provider first.",
            )
    elif allowed_models and offered is None:
        warnings.append(
            "allowed_models: the org's providers list no models, so "
            f"{', '.join(map(_shown, allowed_models))} could not be checked; make sure the names "
            "are right."
        )

    allowed_ips = []
    for value in attributes.allowed_ips:
        text = value.strip()
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError:
            try:
                suggestion = ipaddress.ip_network(text, strict=False)
            except ValueError:
                problem = "is not an IP address or CIDR range (10.0.0.0/8)."
            else:
                problem = f"has host bits set; did you mean {suggestion}?"
            refuse("allowed_ips", f"{_shown(text)} {problem}")
            continue
        if str(network) not in allowed_ips:
            allowed_ips.append(str(network))

    budget_limit, budget_period = attributes.budget_limit, attributes.budget_period or ""
    if budget_limit is not None:
        amount, problem = _budget_amount(budget_limit)
        if problem:
            refuse("budget_limit", problem)
        else:
            budget_limit = amount
    if budget_limit is not None and not budget_period:
        refuse("budget_period", "choose the period the budget applies to (daily, weekly, ...).")
    if budget_limit is None and budget_period:
        refuse("budget_limit", "enter the budget in USD for that period, or clear the period.")
    if budget_period and budget_period not in BudgetPeriod.values:
        refuse("budget_period", f"must be one of {', '.join(BudgetPeriod.values)}.")

    metadata = attributes.metadata or {}
    if len(metadata) > METADATA_MAX_ENTRIES:
        refuse("metadata", f"use at most {METADATA_MAX_ENTRIES} entries.")
    for meta_key, meta_value in metadata.items():
        if not isinstance(meta_key, str) or not isinstance(meta_value, str) or not meta_key:
            refuse("metadata", "keys and values must be text, and keys must not be empty.")
            break
        if len(meta_key) > 100 or len(meta_value) > METADATA_MAX_LENGTH:
            refuse(
                "metadata",
                f"{meta_key[:40]}: keep keys within 100 and values within "
                f"{METADATA_MAX_LENGTH} characters.",
            )
            break

    if name and not errors.get("name"):
        becomes_active = expires_at is None or expires_at > now
        if key is None or (key.revoked_at is None and becomes_active):
            taken = VirtualKey.objects.active(now).filter(
                organization=organization, name__iexact=name
            )
            if key is not None:
                taken = taken.exclude(pk=key.pk)
            if taken.exists():
                refuse(
                    "name",
                    f"another active key is already called {name}; choose a different name "
                    "(or revoke the other key first).",
                )

    if errors:
        raise ValidationError(errors)
    cleaned = KeyAttributes(
        name=name,
        scopes=scopes,
        expires_at=expires_at,
        rate_limit_rpm=attributes.rate_limit_rpm,
        rate_limit_tpm=attributes.rate_limit_tpm,
        allowed_models=allowed_models,
        allowed_ips=allowed_ips,
        budget_limit=budget_limit,
        budget_period=budget_period,
        metadata=dict(metadata),
    )
    return cleaned, warnings


def _audit_attributes(attributes: KeyAttributes) -> dict:
    return {
        "scopes": attributes.scopes,
        "expires_at": attributes.expires_at.isoformat() if attributes.expires_at else None,
        "rate_limit_rpm": attributes.rate_limit_rpm,
        "rate_limit_tpm": attributes.rate_limit_tpm,
        "allowed_models": attributes.allowed_models,
        "allowed_ips": attributes.allowed_ips,
        "budget_limit": None if attributes.budget_limit is None else str(attributes.budget_limit),
        "budget_period": attributes.budget_period,
    }


def _target(key: VirtualKey) -> str:
    return f"{key.name} ({key.public_id})"


@transaction.atomic
def key_create(
    *,
    organization: Organization,
    actor,
    attributes: KeyAttributes,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> IssuedKey:
    now = now or timezone.now()
    # The org row lock serializes creates, so two keys cannot take one name at the same time.
    organization = organization_lock(organization)
    rights = actor_key_rights(actor, None, organization=organization, now=now)
    if not rights.create:
        raise ActionRefused(rights.refusal(CREATE))
    cleaned, warnings = _clean_attributes(
        attributes,
        organization=organization,
        org_limits=organization_limits(organization),
        rights=rights,
        key=None,
        now=now,
    )
    secret = secrets.generate_secret()
    prefix, last4 = secrets.display_parts(secret)
    key = VirtualKey.objects.create(
        organization=organization,
        public_id=secrets.generate_public_id(),
        secret_hash=secrets.hash_secret(secret),
        secret_prefix=prefix,
        secret_last4=last4,
        created_by=actor,
        created_at=now,
        updated_at=now,
        **{f.name: getattr(cleaned, f.name) for f in fields(cleaned)},
    )
    creator_rights_grant(key, actor)
    audit.record(
        organization=organization,
        actor=actor,
        action="key.create",
        target=_target(key),
        ip_address=ip_address,
        details={"key_id": key.public_id, "name": key.name, **_audit_attributes(cleaned)},
    )
    return IssuedKey(key=key, secret=secret, warnings=tuple(warnings))


def _locked_key(key: VirtualKey) -> VirtualKey:
    return VirtualKey.objects.select_for_update().select_related("organization").get(pk=key.pk)


@transaction.atomic
def key_update(
    *,
    key: VirtualKey,
    actor,
    attributes: KeyAttributes,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> SavedKey:
    now = now or timezone.now()
    organization = organization_lock(key.organization)
    key = _locked_key(key)
    rights = actor_key_rights(actor, key, now=now)
    if not rights.edit:
        raise ActionRefused(rights.refusal(EDIT))
    cleaned, warnings = _clean_attributes(
        attributes,
        organization=organization,
        org_limits=organization_limits(organization),
        rights=rights,
        key=key,
        now=now,
    )
    before = KeyAttributes.of(key)
    changes = {}
    for attribute in fields(cleaned):
        old, new = getattr(before, attribute.name), getattr(cleaned, attribute.name)
        if old != new:
            changes[attribute.name] = new
            setattr(key, attribute.name, new)
    if not changes:
        return SavedKey(key=key, warnings=tuple(warnings))
    key.updated_at = now
    key.save(update_fields=[*changes, "updated_at"])
    before_audit, after_audit = _audit_attributes(before), _audit_attributes(cleaned)
    details = {"key_id": key.public_id}
    for name in changes:
        if name == "metadata":
            # Metadata is free text a person typed; record that it changed, not what it says.
            details["metadata"] = "changed"
        elif name == "name":
            details["name"] = {"from": before.name, "to": cleaned.name}
        else:
            details[name] = {"from": before_audit[name], "to": after_audit[name]}
    audit.record(
        organization=organization,
        actor=actor,
        action="key.update",
        target=_target(key),
        ip_address=ip_address,
        details=details,
    )
    return SavedKey(key=key, warnings=tuple(warnings))


@transaction.atomic
def key_rotate(
    *,
    key: VirtualKey,
    actor,
    grace: str,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> IssuedKey:
    """New secret, same key id; the old secret keeps working for the grace period.

    Secrets retired earlier are cut to the new grace end too: rotating with no grace after a
    leak stops every older secret at once.
    """
    now = now or timezone.now()
    key = _locked_key(key)
    rights = actor_key_rights(actor, key, now=now)
    if not rights.rotate:
        raise ActionRefused(rights.refusal(ROTATE))
    try:
        grace_period = GRACE_DURATIONS[RotationGrace(grace)]
    except ValueError:
        raise ValidationError(
            {"grace": [f"grace: must be one of {', '.join(RotationGrace.values)}."]}
        ) from None
    valid_until = now + grace_period
    RetiredSecret.objects.filter(key=key, valid_until__gt=valid_until).update(
        valid_until=valid_until
    )
    RetiredSecret.objects.filter(key=key, valid_until__lt=now - RETIRED_SECRET_MEMORY).delete()
    RetiredSecret.objects.create(
        key=key,
        secret_hash=key.secret_hash,
        secret_last4=key.secret_last4,
        retired_at=now,
        valid_until=valid_until,
    )
    secret = secrets.generate_secret()
    key.secret_hash = secrets.hash_secret(secret)
    key.secret_prefix, key.secret_last4 = secrets.display_parts(secret)
    key.rotated_at = now
    key.updated_at = now
    key.save(
        update_fields=["secret_hash", "secret_prefix", "secret_last4", "rotated_at", "updated_at"]
    )
    audit.record(
        organization=key.organization,
        actor=actor,
        action="key.rotate",
        target=_target(key),
        ip_address=ip_address,
        details={
            "key_id": key.public_id,
            "grace": RotationGrace(grace).value,
            "old_secret_valid_until": valid_until.isoformat(),
        },
    )
    return IssuedKey(key=key, secret=secret)


@transaction.atomic
def key_revoke(
    *, key: VirtualKey, actor, ip_address: str | None = None, now: datetime | None = None
) -> VirtualKey:
    now = now or timezone.now()
    key = _locked_key(key)
    rights = actor_key_rights(actor, key, now=now)
    if not rights.revoke:
        raise ActionRefused(rights.refusal(REVOKE))
    key.revoked_at = now
    key.revoked_by = actor
    key.updated_at = now
    key.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    RetiredSecret.objects.filter(key=key, valid_until__gt=now).update(valid_until=now)
    audit.record(
        organization=key.organization,
        actor=actor,
        action="key.revoke",
        target=_target(key),
        ip_address=ip_address,
        details={"key_id": key.public_id},
    )
    return key
