"""Every write to a virtual key: create, edit, rotate, revoke.

Each checks the actor's rights itself (pages and the API call the same functions), holds the
attributes to the `KeyAttributes` schema with the rules that need the org (its models, unique
names, who may add the admin scope), writes an audit entry without the secret, and returns the
new secret only from create and rotate.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from keys import secrets
from keys.models import GRACE_DURATIONS, RetiredSecret, RotationGrace, VirtualKey
from keys.permissions import (
    CREATE,
    EDIT,
    REVOKE,
    ROTATE,
    KeyRights,
    actor_key_rights,
    creator_rights_grant,
)
from keys.schema import KeyAttributes, KeyRules
from keys.selectors import organization_limits
from orgs import audit
from orgs.models import Organization
from orgs.selectors import organization_lock
from prism_site.actor import Actor
from prism_site.errors import Invalid, Refused

# Retired secrets are kept a while after their grace ends, so lookup can say "rotated".
RETIRED_SECRET_MEMORY = timedelta(days=30)


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


def _checked(
    attributes: KeyAttributes | Mapping[str, Any],
    *,
    organization: Organization,
    rights: KeyRights,
    key: VirtualKey | None,
    now: datetime,
) -> tuple[KeyAttributes, tuple[str, ...]]:
    """`attributes` held to every rule, with the org's models, the clock and the actor's rights;
    raises `KeyAttributesInvalid` naming each bad field and its fix."""

    def name_taken(name: str, expires_at: datetime | None) -> bool:
        # Only active keys hold a name; a key that stays revoked or expired takes none.
        becomes_active = expires_at is None or expires_at > now
        if key is not None and (key.revoked_at is not None or not becomes_active):
            return False
        taken = VirtualKey.objects.active(now).filter(organization=organization, name__iexact=name)
        if key is not None:
            taken = taken.exclude(pk=key.pk)
        return taken.exists()

    rules = KeyRules(
        now=now,
        rights=rights,
        offered_models=organization_limits(organization).models,
        name_taken=name_taken,
        editing=key,
    )
    cleaned = KeyAttributes.checked(attributes, rules=rules)
    return cleaned, tuple(rules.warnings)


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
    actor: Actor,
    attributes: KeyAttributes | Mapping[str, Any],
    now: datetime | None = None,
) -> IssuedKey:
    now = now or timezone.now()
    # The org row lock serializes creates, so two keys cannot take one name at the same time.
    organization = organization_lock(organization)
    rights = actor_key_rights(actor.user, None, organization=organization, now=now)
    if not rights.create:
        raise Refused(rights.refusal(CREATE))
    cleaned, warnings = _checked(
        attributes, organization=organization, rights=rights, key=None, now=now
    )
    secret = secrets.generate_secret()
    prefix, last4 = secrets.display_parts(secret)
    key = VirtualKey.objects.create(
        organization=organization,
        public_id=secrets.generate_public_id(),
        secret_hash=secrets.hash_secret(secret),
        secret_prefix=prefix,
        secret_last4=last4,
        created_by=actor.user,
        created_at=now,
        updated_at=now,
        **cleaned.model_dump(),
    )
    creator_rights_grant(key, actor.user)
    audit.record(
        organization=organization,
        actor=actor,
        action="key.create",
        target=_target(key),
        details={"key_id": key.public_id, "name": key.name, **_audit_attributes(cleaned)},
    )
    return IssuedKey(key=key, secret=secret, warnings=warnings)


def _locked_key(key: VirtualKey) -> VirtualKey:
    return VirtualKey.objects.select_for_update().select_related("organization").get(pk=key.pk)


@transaction.atomic
def key_update(
    *,
    key: VirtualKey,
    actor: Actor,
    attributes: KeyAttributes | Mapping[str, Any],
    now: datetime | None = None,
) -> SavedKey:
    now = now or timezone.now()
    organization = organization_lock(key.organization)
    key = _locked_key(key)
    rights = actor_key_rights(actor.user, key, now=now)
    if not rights.edit:
        raise Refused(rights.refusal(EDIT))
    cleaned, warnings = _checked(
        attributes, organization=organization, rights=rights, key=key, now=now
    )
    before = KeyAttributes.of(key)
    changes = {}
    for name in KeyAttributes.model_fields:
        old, new = getattr(before, name), getattr(cleaned, name)
        if old != new:
            changes[name] = new
            setattr(key, name, new)
    if not changes:
        return SavedKey(key=key, warnings=warnings)
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
        details=details,
    )
    return SavedKey(key=key, warnings=warnings)


@transaction.atomic
def key_rotate(
    *,
    key: VirtualKey,
    actor: Actor,
    grace: str,
    now: datetime | None = None,
) -> IssuedKey:
    """New secret, same key id; the old secret keeps working for the grace period.

    Secrets retired earlier are cut to the new grace end too: rotating with no grace after a
    leak stops every older secret at once.
    """
    now = now or timezone.now()
    key = _locked_key(key)
    rights = actor_key_rights(actor.user, key, now=now)
    if not rights.rotate:
        raise Refused(rights.refusal(ROTATE))
    try:
        grace_period = GRACE_DURATIONS[RotationGrace(grace)]
    except ValueError:
        raise Invalid(
            errors={"grace": [f"grace: must be one of {', '.join(RotationGrace.values)}."]}
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
        details={
            "key_id": key.public_id,
            "grace": RotationGrace(grace).value,
            "old_secret_valid_until": valid_until.isoformat(),
        },
    )
    return IssuedKey(key=key, secret=secret)


@transaction.atomic
def key_revoke(*, key: VirtualKey, actor: Actor, now: datetime | None = None) -> VirtualKey:
    now = now or timezone.now()
    key = _locked_key(key)
    rights = actor_key_rights(actor.user, key, now=now)
    if not rights.revoke:
        raise Refused(rights.refusal(REVOKE))
    key.revoked_at = now
    key.revoked_by = actor.user
    key.updated_at = now
    key.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    RetiredSecret.objects.filter(key=key, valid_until__gt=now).update(valid_until=now)
    audit.record(
        organization=key.organization,
        actor=actor,
        action="key.revoke",
        target=_target(key),
        details={"key_id": key.public_id},
    )
    return key


# An admin API call moves its key's `last_used_at` at most this often: one narrow UPDATE a
# minute, as gateway traffic does (usage.services), not a write on every call.
LAST_USED_STEP = timedelta(minutes=1)


def key_mark_used(key: VirtualKey, *, now: datetime | None = None) -> None:
    """Record that `key` was just used on the admin API, so the key list shows it in use."""
    now = now or timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_STEP:
        VirtualKey.objects.filter(pk=key.pk).filter(
            models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=now - LAST_USED_STEP)
        ).update(last_used_at=now)
        key.last_used_at = now
