"""Writing the audit log; services call `record` (or `record_many`) inside their transaction."""

from collections.abc import Iterable

from orgs.models import AuditEvent, Organization
from prism_site.actor import Actor


def _entry(
    organization: Organization, actor: Actor, action: str, target: str, details: dict | None
) -> AuditEvent:
    return AuditEvent(
        organization=organization,
        actor=actor.user if actor.user_id else None,
        actor_email=actor.email,
        api_key_id=actor.api_key_id,
        action=action,
        target=target,
        ip_address=actor.ip_address,
        # A token is the account's own credential, not the org's: named beside the details.
        details={**(details or {}), "token_id": actor.token_id}
        if actor.token_id
        else details or {},
    )


def record(
    *,
    organization: Organization,
    actor: Actor,
    action: str,
    target: str = "",
    details: dict | None = None,
) -> AuditEvent:
    entry = _entry(organization, actor, action, target, details)
    entry.save()
    return entry


def record_many(
    *,
    organization: Organization,
    actor: Actor,
    action: str,
    entries: Iterable[tuple[str, dict]],
) -> list[AuditEvent]:
    """One entry per (target, details), written in one statement (a batch of invitations)."""
    return AuditEvent.objects.bulk_create(
        [_entry(organization, actor, action, target, details) for target, details in entries]
    )
