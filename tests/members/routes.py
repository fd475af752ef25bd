"""Matrix rows for Settings > Members and the invitation pages."""

from datetime import timedelta

from django.utils import timezone

from members.models import Invitation
from members.services import invitation_revoke, invitations_send
from orgs.models import Membership
from orgs.roles import Role
from prism_site.actor import Actor
from tests.factories import add_member
from tests.matrix import LOGIN, Route, expect

OK = 302  # a successful plain form post redirects back to the page


def target_member(role: Role):
    """kwargs for a route acting on a fresh member holding `role` (never the caller)."""

    def kwargs(ctx):
        user = add_member(ctx.organization, role)
        membership = Membership.objects.get(user=user, organization=ctx.organization)
        return {"slug": ctx.organization.slug, "membership_id": membership.pk}

    return kwargs


def _invite(ctx, role: Role):
    batch = invitations_send(
        organization=ctx.organization,
        emails=[f"invitee-{role.value}@example.test"],
        role=role,
        actor=Actor(ctx.users["owner"]),
        base_url="http://testserver/",
    )
    return batch.issued[0]


def open_invitation(role: Role):
    def kwargs(ctx):
        return {"slug": ctx.organization.slug, "invitation_id": _invite(ctx, role).invitation.pk}

    return kwargs


def invitation_token(state: str = "open"):
    """kwargs for /invitations/<token>/ with an invitation (for someone else) in `state`."""

    def kwargs(ctx):
        if state == "unknown":
            return {"token": "no-such-token"}
        issued = _invite(ctx, Role.MEMBER)
        if state == "revoked":
            invitation_revoke(
                organization=ctx.organization,
                invitation_id=issued.invitation.pk,
                actor=Actor(ctx.users["owner"]),
            )
        elif state == "expired":
            Invitation.objects.filter(pk=issued.invitation.pk).update(
                expires_at=timezone.now() - timedelta(minutes=1)
            )
        return {"token": issued.token}

    return kwargs


def in_another_org(kind: str):
    """kwargs naming a membership or an open invitation that belongs to another org."""

    def kwargs(ctx):
        other_owner = ctx.users["outsider"]
        other = Membership.objects.select_related("organization").get(user=other_owner)
        if kind == "membership":
            return {"slug": ctx.organization.slug, "membership_id": other.pk}
        batch = invitations_send(
            organization=other.organization,
            emails=["elsewhere@example.test"],
            role=Role.MEMBER,
            actor=Actor(other_owner),
            base_url="http://testserver/",
        )
        return {"slug": ctx.organization.slug, "invitation_id": batch.issued[0].invitation.pk}

    return kwargs


def role_data(role: str):
    return lambda ctx: {"role": role}


ROUTES = [
    Route("members:list", expect(LOGIN, 404, 200, 200, 200, 200)),
    Route(
        "members:list",
        expect(LOGIN, 404, 200, 200, 200, 200),
        htmx=True,
        query="q=example&role=member&page=2",
        label="(htmx filter)",
    ),
    # Role changes.
    Route(
        "members:change_role",
        expect(LOGIN, 404, 403, 403, OK, OK),
        method="POST",
        kwargs=target_member(Role.MEMBER),
        data=role_data("viewer"),
    ),
    Route(
        "members:change_role",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        kwargs=target_member(Role.MEMBER),
        data=role_data("admin"),
        htmx=True,
        label="(htmx)",
    ),
    Route(
        "members:change_role",
        expect(LOGIN, 404, 403, 403, 403, OK),
        method="POST",
        kwargs=target_member(Role.MEMBER),
        data=role_data("owner"),
        label="(grant Owner)",
    ),
    Route(
        "members:change_role",
        expect(LOGIN, 404, 403, 403, 403, OK),
        method="POST",
        kwargs=target_member(Role.OWNER),
        data=role_data("member"),
        label="(demote an Owner)",
    ),
    Route(
        "members:change_role",
        expect(LOGIN, 404, 403, 403, 400, 400),
        method="POST",
        kwargs=target_member(Role.MEMBER),
        data=role_data("emperor"),
        label="(unknown role)",
    ),
    Route(
        "members:change_role",
        expect(LOGIN, 404, 403, 403, 404, 404),
        method="POST",
        kwargs=in_another_org("membership"),
        data=role_data("viewer"),
        label="(a member of another org)",
    ),
    # Removal and leaving.
    Route(
        "members:remove",
        expect(LOGIN, 404, 403, 403, OK, OK),
        method="POST",
        kwargs=target_member(Role.VIEWER),
    ),
    Route(
        "members:remove",
        expect(LOGIN, 404, 403, 403, 403, OK),
        method="POST",
        kwargs=target_member(Role.OWNER),
        label="(an Owner)",
    ),
    Route(
        "members:remove",
        expect(LOGIN, 404, 403, 403, 404, 404),
        method="POST",
        kwargs=in_another_org("membership"),
        label="(a member of another org)",
    ),
    Route(
        "members:leave",
        expect(LOGIN, 404, OK, OK, OK, 403),
        method="POST",
        label="(the Owner is the last one)",
    ),
    # Invitations.
    Route(
        "members:invite",
        expect(LOGIN, 404, 403, 403, OK, OK),
        method="POST",
        data=lambda ctx: {"emails": "new.person@example.test", "role": "member"},
    ),
    Route(
        "members:invite",
        expect(LOGIN, 404, 403, 403, 400, OK),
        method="POST",
        data=lambda ctx: {"emails": "new.owner@example.test", "role": "owner"},
        label="(an Owner)",
    ),
    Route(
        "members:invite",
        expect(LOGIN, 404, 403, 403, 200, 200),
        method="POST",
        data=lambda ctx: {"emails": "not-an-address", "role": "member"},
        htmx=True,
        label="(htmx, invalid address)",
    ),
    Route(
        "members:invitation_resend",
        expect(LOGIN, 404, 403, 403, OK, OK),
        method="POST",
        kwargs=open_invitation(Role.ADMIN),
    ),
    Route(
        "members:invitation_resend",
        expect(LOGIN, 404, 403, 403, 403, OK),
        method="POST",
        kwargs=open_invitation(Role.OWNER),
        label="(an Owner invitation)",
    ),
    Route(
        "members:invitation_resend",
        expect(LOGIN, 404, 403, 403, 404, 404),
        method="POST",
        kwargs=in_another_org("invitation"),
        label="(of another org)",
    ),
    Route(
        "members:invitation_revoke",
        expect(LOGIN, 404, 403, 403, OK, OK),
        method="POST",
        kwargs=open_invitation(Role.VIEWER),
    ),
    Route(
        "members:invitation_revoke",
        expect(LOGIN, 404, 403, 403, 403, OK),
        method="POST",
        kwargs=open_invitation(Role.OWNER),
        label="(an Owner invitation)",
    ),
    Route(
        "members:invitation_revoke",
        expect(LOGIN, 404, 403, 403, 404, 404),
        method="POST",
        kwargs=in_another_org("invitation"),
        label="(of another org)",
    ),
    # The invitee's side: every caller here is someone other than the invited address.
    Route(
        "invitations:detail",
        expect(200, 403, 403, 403, 403, 403),
        kwargs=invitation_token(),
        label="(for someone else)",
    ),
    Route(
        "invitations:detail",
        expect(404, 404, 404, 404, 404, 404),
        kwargs=invitation_token("unknown"),
        label="(unknown token)",
    ),
    Route(
        "invitations:detail",
        expect(410, 410, 410, 410, 410, 410),
        kwargs=invitation_token("revoked"),
        label="(revoked)",
    ),
    Route(
        "invitations:detail",
        expect(410, 410, 410, 410, 410, 410),
        kwargs=invitation_token("expired"),
        label="(expired)",
    ),
    Route(
        "invitations:accept",
        expect(LOGIN, 403, 403, 403, 403, 403),
        method="POST",
        kwargs=invitation_token(),
        label="(for someone else)",
    ),
    Route(
        "invitations:accept",
        expect(LOGIN, 410, 410, 410, 410, 410),
        method="POST",
        kwargs=invitation_token("revoked"),
        label="(revoked)",
    ),
    Route(
        "invitations:signup",
        expect(200, 302, 302, 302, 302, 302),
        kwargs=invitation_token(),
    ),
    Route(
        "invitations:signup",
        expect(410, 302, 302, 302, 302, 302),
        kwargs=invitation_token("expired"),
        label="(expired)",
    ),
]
