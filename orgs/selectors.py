"""Reads shared by org pages and the API."""

from members.models import Membership
from orgs.models import AuditEvent, Organization

AUDIT_PAGE_SIZE = 50


def member_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization).count()


def audit_page(organization: Organization, *, before_id: int | None, size: int = AUDIT_PAGE_SIZE):
    """Newest first, keyset-paginated on id: page cost does not grow with the log."""
    events = AuditEvent.objects.filter(organization=organization).order_by("-id")
    if before_id is not None:
        events = events.filter(id__lt=before_id)
    rows = list(events[: size + 1])
    next_before = rows[size - 1].id if len(rows) > size else None
    return rows[:size], next_before
