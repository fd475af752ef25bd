"""Writing the audit log; services call `record` inside their transaction."""

from orgs.models import AuditEvent, Organization


def record(
    *,
    organization: Organization,
    actor,
    action: str,
    target: str = "",
    ip_address: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_email=getattr(actor, "email", "") or "",
        action=action,
        target=target,
        ip_address=ip_address,
        details=details or {},
    )
