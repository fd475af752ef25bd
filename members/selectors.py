"""Reads shared by the members pages and the API: the member list, invitations, token lookup."""

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from members.errors import InvitationUnusable
from members.models import Invitation, token_digest
from orgs.models import Membership, Organization
from orgs.permissions import organization_permissions
from orgs.roles import ROLE_RANK, Role, capability_needed_to_manage

MEMBERS_PAGE_SIZE = 50
OPEN_INVITATIONS_SHOWN = 100


@dataclass(frozen=True)
class MembersPage:
    memberships: list[Membership]
    number: int
    page_count: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.page_count


def _by_rank() -> Case:
    return Case(
        *[When(role=role.value, then=Value(rank)) for role, rank in ROLE_RANK.items()],
        output_field=IntegerField(),
    )


def members_page(
    organization: Organization,
    *,
    search: str = "",
    role: str = "",
    page: int = 1,
    size: int = MEMBERS_PAGE_SIZE,
) -> MembersPage:
    """Owners first, then by email; a bounded page (two queries whatever the org's size)."""
    memberships: QuerySet[Membership] = Membership.objects.filter(organization=organization)
    if search:
        memberships = memberships.filter(
            Q(user__email__icontains=search) | Q(user__display_name__icontains=search)
        )
    if role in Role.values:
        memberships = memberships.filter(role=role)
    total = memberships.count()
    page_count = max(1, -(-total // size))
    number = min(max(1, page), page_count)
    start = (number - 1) * size
    rows = list(
        memberships.select_related("user")
        .annotate(rank=_by_rank())
        .order_by("-rank", "user__email")[start : start + size]
    )
    return MembersPage(memberships=rows, number=number, page_count=page_count, total=total)


@dataclass(frozen=True)
class PendingInvitations:
    """One page of open invitations, newest first, reached by keyset (no offsets to drift)."""

    invitations: list[Invitation]
    total: int
    # The invitation this page continues after (None: the newest page).
    older_than: int | None
    # Where the next older page starts, or None when this page holds the oldest.
    next_older_than: int | None


def open_invitations(
    organization: Organization,
    *,
    older_than: int | None = None,
    limit: int = OPEN_INVITATIONS_SHOWN,
) -> PendingInvitations:
    """Invitations neither accepted nor revoked (expired ones included: they can be resent).

    `older_than` is an invitation id of this org (any state, so a page survives its boundary
    row being revoked); an id of another org or no longer existing gives the newest page.
    """
    invitations = Invitation.objects.filter(
        organization=organization, accepted_at__isnull=True, revoked_at__isnull=True
    )
    page = invitations
    cursor = None
    if older_than is not None:
        cursor = (
            Invitation.objects.filter(organization=organization, pk=older_than)
            .values_list("created_at", flat=True)
            .first()
        )
    if cursor is None:
        older_than = None
    else:
        page = page.filter(Q(created_at__lt=cursor) | Q(created_at=cursor, pk__lt=older_than))
    rows = list(page.select_related("invited_by").order_by("-created_at", "-id")[: limit + 1])
    has_older = len(rows) > limit
    rows = rows[:limit]
    total = len(rows) if older_than is None and not has_older else invitations.count()
    return PendingInvitations(
        invitations=rows,
        total=total,
        older_than=older_than,
        next_older_than=rows[-1].pk if has_older else None,
    )


def invitation_for_token(token: str) -> Invitation | None:
    if not token or len(token) > 128:
        return None
    return (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=token_digest(token))
        .first()
    )


def invitation_refusal(
    invitation: Invitation | None, *, user, already_member: bool = False
) -> InvitationUnusable | None:
    """Why this user cannot accept this invitation now, or None when they can.

    For an anonymous visitor only the invitation itself is checked.
    """
    if invitation is None:
        return InvitationUnusable(
            "This invitation link is not valid. Check that you opened the whole link from the "
            "email, or ask for a new invitation.",
            reason=InvitationUnusable.NOT_FOUND,
        )
    organization = invitation.organization
    if invitation.revoked_at:
        return InvitationUnusable(
            f"This invitation to {organization.name} was withdrawn. Ask an Owner or Admin of "
            f"{organization.name} for a new one.",
            reason=InvitationUnusable.REVOKED,
        )
    if invitation.accepted_at:
        return InvitationUnusable(
            f"This invitation to {organization.name} has already been used.",
            reason=InvitationUnusable.ACCEPTED,
        )
    if invitation.is_expired:
        inviter = invitation.invited_by.name if invitation.invited_by else "an Owner or Admin"
        return InvitationUnusable(
            f"This invitation expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC. Ask "
            f"{inviter} of {organization.name} to resend it.",
            reason=InvitationUnusable.EXPIRED,
        )
    if not getattr(user, "is_authenticated", False):
        return None
    if user.email != invitation.email:
        return InvitationUnusable(
            f"This invitation is for {invitation.email}, but you are signed in as {user.email}. "
            f"Sign out, then sign in or sign up as {invitation.email} to accept it.",
            reason=InvitationUnusable.WRONG_ACCOUNT,
        )
    if already_member:
        return None
    # An invitation carries its sender's authority: if they can no longer grant the role
    # (demoted, removed), the link must not grant it either.
    inviter = invitation.invited_by
    needed = capability_needed_to_manage(invitation.role)
    if inviter is None or needed.value not in organization_permissions(inviter, organization):
        return InvitationUnusable(
            f"This invitation is no longer valid: the person who sent it can no longer grant "
            f"the {Role(invitation.role).label} role in {organization.name}. Ask an Owner or "
            "Admin for a new invitation.",
            reason=InvitationUnusable.NO_LONGER_VALID,
        )
    return None
