"""Reads shared by the members pages and the API: the member list, invitations, token lookup."""

from dataclasses import dataclass

from django.db.models import Q

from members.errors import InvitationUnusable
from members.models import Invitation, PersonalAccessToken, token_digest
from orgs.models import Membership, Organization
from orgs.permissions import organization_permissions
from orgs.roles import Role, capability_needed_to_manage
from prism_site.paging import COUNT_LIMIT, Keyset, Page, count_up_to

MEMBERS_PAGE_SIZE = 50
OPEN_INVITATIONS_SHOWN = 100

# Owners first, then by email (`membership_sort_key`), through the org's membership indexes.
MEMBERS_ORDER = Keyset("members", ("sort_key", "id"))
INVITATIONS_ORDER = Keyset("invitations", ("-created_at", "-id"), param="invitations_cursor")


@dataclass(frozen=True)
class MembersPage:
    page: Page
    # How many members match the filters: exact when cheap to know, else None: more than
    # `at_least`.
    matches: int | None
    at_least: int

    @property
    def memberships(self) -> list[Membership]:
        return self.page.rows


def members_page(
    organization: Organization,
    *,
    search: str = "",
    role: str = "",
    cursor: str | None = None,
    size: int = MEMBERS_PAGE_SIZE,
) -> MembersPage:
    """One page of the member list; the search runs once, and nothing sorts the whole org.

    `matches` is an index-only count without a search (up to COUNT_LIMIT); with one, the search
    is not run a second time to count: exact when the first page holds every match, else None.
    """
    memberships = Membership.objects.filter(organization=organization)
    if search:
        memberships = memberships.filter(
            Q(user__email__icontains=search) | Q(user__display_name__icontains=search)
        )
    if role in Role.values:
        memberships = memberships.filter(role=role)
    page = MEMBERS_ORDER.page(memberships.select_related("user"), cursor, size=size)
    if not search:
        matches, at_least = count_up_to(memberships), COUNT_LIMIT
    elif page.is_first and not page.has_next:
        matches, at_least = len(page.rows), len(page.rows)
    else:
        matches, at_least = None, size
    return MembersPage(page=page, matches=matches, at_least=at_least)


@dataclass(frozen=True)
class PendingInvitations:
    """One page of open invitations, newest first."""

    page: Page
    total: int

    @property
    def invitations(self) -> list[Invitation]:
        return self.page.rows


def open_invitations(
    organization: Organization,
    *,
    cursor: str | None = None,
    limit: int = OPEN_INVITATIONS_SHOWN,
) -> PendingInvitations:
    """Invitations neither accepted nor revoked (expired ones included: they can be resent).

    A page's position survives its boundary row being revoked or accepted; the total is counted
    only when there is more than one page.
    """
    invitations = Invitation.objects.filter(
        organization=organization, accepted_at__isnull=True, revoked_at__isnull=True
    )
    page = INVITATIONS_ORDER.page(invitations.select_related("invited_by"), cursor, size=limit)
    total = len(page.rows) if page.is_first and not page.has_next else invitations.count()
    return PendingInvitations(page=page, total=total)


def invitation_in_organization(organization: Organization, invitation_id: int) -> Invitation | None:
    """One invitation of this org, whatever its state; another org's is None."""
    return (
        Invitation.objects.select_related("invited_by")
        .filter(organization=organization, pk=invitation_id)
        .first()
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


# A person's tokens, newest first (the (user, -created_at, -id) index).
ACCESS_TOKENS_ORDER = Keyset("access_tokens", ("-created_at", "-id"))
ACCESS_TOKENS_PAGE_SIZE = 50


def access_tokens_page(user, *, cursor: str | None) -> Page:
    return ACCESS_TOKENS_ORDER.page(
        PersonalAccessToken.objects.filter(user=user), cursor, size=ACCESS_TOKENS_PAGE_SIZE
    )
