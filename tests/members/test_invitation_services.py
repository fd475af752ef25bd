"""Invitation services: who may invite whom, tokens, refresh, resend, revoke, accept, audit."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from members.errors import InvitationUnusable
from members.invitation_forms import InvitationForm
from members.models import Invitation, InvitationEmail
from members.selectors import invitation_for_token
from members.services import (
    INVITATION_LIFETIME,
    invitation_accept,
    invitation_resend,
    invitation_revoke,
    invitations_send,
    membership_change_role,
    membership_remove,
)
from orgs.models import AuditEvent, Membership
from orgs.permissions import organization_permissions
from orgs.roles import ROLE_CAPABILITIES, Role
from prism_site.actor import Actor
from prism_site.errors import NotFound, Refused
from tests.factories import add_member, make_user
from tests.members.helpers import BASE_URL, invite, membership_of

# ---- Who may invite whom ------------------------------------------------------------------

ALLOWED = {
    Role.OWNER: {Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER},
    Role.ADMIN: {Role.ADMIN, Role.MEMBER, Role.VIEWER},
    Role.MEMBER: set(),
    Role.VIEWER: set(),
}


@pytest.mark.parametrize("actor_role", list(Role))
@pytest.mark.parametrize("invited_role", list(Role))
def test_nobody_invites_above_their_own_role(organization, owner, actor_role, invited_role):
    actor = owner if actor_role == Role.OWNER else add_member(organization, actor_role)
    if invited_role in ALLOWED[actor_role]:
        invitation, _ = invite(organization, actor, "new@example.test", invited_role)
        assert invitation.role == invited_role
    else:
        with pytest.raises(Refused):
            invite(organization, actor, "new@example.test", invited_role)
        assert not Invitation.objects.exists()


def test_outsider_cannot_invite(organization, outsider):
    with pytest.raises(Refused, match="does not allow inviting"):
        invite(organization, outsider, "new@example.test")


def test_admin_refusal_for_owner_says_why(organization, admin):
    with pytest.raises(Refused, match="only an Owner can invite an Owner"):
        invite(organization, admin, "boss@example.test", Role.OWNER)


# ---- What an invitation stores -------------------------------------------------------------


def test_invitation_stores_normalised_email_times_and_only_a_hash_of_the_token(organization, owner):
    before = timezone.now()
    invitation, token = invite(organization, owner, "  Ada.Lovelace@Example.TEST ", Role.ADMIN)
    invitation.refresh_from_db()
    assert invitation.email == "ada.lovelace@example.test"
    assert invitation.role == Role.ADMIN
    assert invitation.invited_by == owner
    assert invitation.created_at >= before
    assert invitation.expires_at - invitation.created_at == INVITATION_LIFETIME == timedelta(7)
    assert (invitation.accepted_at, invitation.revoked_at) == (None, None)
    # ≥ 128 random bits: 32 bytes of `secrets` in URL-safe base64.
    assert len(token) >= 43
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = Invitation.objects.filter(pk=invitation.pk).values().get()
    assert not any(token in str(value) for value in stored.values())
    assert not AuditEvent.objects.filter(details__icontains=token).exists()


def test_tokens_are_unique(organization, owner):
    tokens = {invite(organization, owner, f"person{n}@example.test")[1] for n in range(20)}
    assert len(tokens) == 20


def test_inviting_again_refreshes_the_one_open_invitation(organization, owner, admin):
    first, old_token = invite(organization, owner, "ada@example.test", Role.VIEWER)
    Invitation.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(days=1))
    second, new_token = invite(organization, admin, "ADA@example.test", Role.MEMBER)
    assert second.pk == first.pk
    assert Invitation.objects.filter(organization=organization).count() == 1
    second.refresh_from_db()
    assert (second.role, second.invited_by) == (Role.MEMBER, admin)
    assert second.expires_at > timezone.now() + timedelta(days=6)
    assert invitation_for_token(old_token) is None
    assert invitation_for_token(new_token).pk == first.pk


def test_an_admin_cannot_overwrite_a_pending_owner_invitation(organization, owner, admin):
    boss, boss_token = invite(organization, owner, "boss@example.test", Role.OWNER)
    batch = invitations_send(
        organization=organization,
        emails=["boss@example.test", "ada@example.test"],
        role=Role.VIEWER,
        actor=Actor(admin),
        base_url=BASE_URL,
    )
    assert [item.invitation.email for item in batch.issued] == ["ada@example.test"]
    assert [email for email, _ in batch.refused] == ["boss@example.test"]
    assert "pending Owner invitation" in batch.refused[0][1]
    boss.refresh_from_db()
    assert (boss.role, boss.invited_by) == (Role.OWNER, owner)
    assert invitation_for_token(boss_token).pk == boss.pk, "the Owner's link still works"
    assert InvitationEmail.objects.filter(invitation=boss).count() == 1
    assert not AuditEvent.objects.filter(
        actor=admin, action="invitation.create", target="boss@example.test"
    ).exists()


def test_an_owner_may_refresh_an_owner_invitation(organization, owner):
    boss, _ = invite(organization, owner, "boss@example.test", Role.OWNER)
    again, _ = invite(organization, owner, "boss@example.test", Role.ADMIN)
    assert again.pk == boss.pk and again.role == Role.ADMIN


def test_a_batch_skips_members_and_duplicates(organization, owner, member):
    batch = invitations_send(
        organization=organization,
        emails=["a@example.test", "A@example.test", "MEMBER@example.test", "b@example.test"],
        role=Role.VIEWER,
        actor=Actor(owner),
        base_url=BASE_URL,
    )
    assert [item.invitation.email for item in batch.issued] == ["a@example.test", "b@example.test"]
    assert batch.already_members == ["member@example.test"]
    assert Invitation.objects.count() == 2


def test_at_most_fifty_addresses_per_request(organization, owner):
    with pytest.raises(ValidationError, match="at most 50"):
        invitations_send(
            organization=organization,
            emails=[f"p{n}@example.test" for n in range(51)],
            role=Role.MEMBER,
            actor=Actor(owner),
            base_url=BASE_URL,
        )
    assert not Invitation.objects.exists()


def test_invalid_addresses_are_named(organization, owner):
    with pytest.raises(ValidationError, match="not-an-address"):
        invitations_send(
            organization=organization,
            emails=["ok@example.test", "not-an-address"],
            role=Role.MEMBER,
            actor=Actor(owner),
            base_url=BASE_URL,
        )
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" , ; ", "emails: enter at least one email address."),
        (
            "ok@example.test, not-an-address",
            "emails: not valid email addresses: not-an-address. Fix or remove them.",
        ),
        (
            " ".join(f"p{n}@example.test" for n in range(51)),
            "emails: at most 50 addresses at a time (51 given); send the rest in another batch.",
        ),
    ],
    ids=["none", "invalid", "too many"],
)
def test_the_invite_form_and_the_service_refuse_an_address_list_alike(
    organization, owner, text, message
):
    form = InvitationForm({"emails": text, "role": "member"}, roles=[Role.MEMBER])
    assert not form.is_valid()
    assert form.errors["emails"] == [message]
    with pytest.raises(ValidationError) as refusal:
        invitations_send(
            organization=organization,
            emails=re.split(r"[\s,;]+", text),
            role=Role.MEMBER,
            actor=Actor(owner),
            base_url=BASE_URL,
        )
    assert refusal.value.messages == [message]
    assert not Invitation.objects.exists()


def test_the_service_reads_a_pasted_list_like_the_form(organization, owner):
    batch = invitations_send(
        organization=organization,
        emails="Ada@example.test, bob@example.test;\nada@example.test",
        role=Role.MEMBER,
        actor=Actor(owner),
        base_url=BASE_URL,
    )
    assert [item.invitation.email for item in batch.issued] == [
        "ada@example.test",
        "bob@example.test",
    ]


# ---- Resend and revoke ---------------------------------------------------------------------


def test_resend_gives_a_new_token_and_expiry(organization, owner, admin):
    invitation, old_token = invite(organization, owner, "ada@example.test")
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(hours=1)
    )
    issued = invitation_resend(
        organization=organization,
        invitation_id=invitation.pk,
        actor=Actor(admin),
        base_url=BASE_URL,
    )
    assert issued.token != old_token
    assert invitation_for_token(old_token) is None
    refreshed = invitation_for_token(issued.token)
    assert refreshed.expires_at > timezone.now() + timedelta(days=6)
    assert refreshed.invited_by == admin
    assert InvitationEmail.objects.filter(invitation=invitation).count() == 2


def test_admin_cannot_resend_or_revoke_an_owner_invitation(organization, owner, admin):
    invitation, _ = invite(organization, owner, "boss@example.test", Role.OWNER)
    with pytest.raises(Refused, match="Owner"):
        invitation_resend(
            organization=organization,
            invitation_id=invitation.pk,
            actor=Actor(admin),
            base_url=BASE_URL,
        )
    with pytest.raises(Refused, match="Owner"):
        invitation_revoke(
            organization=organization, invitation_id=invitation.pk, actor=Actor(admin)
        )
    invitation.refresh_from_db()
    assert invitation.is_open


@pytest.mark.parametrize("actor_role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_cannot_resend_or_revoke(organization, owner, actor_role):
    actor = add_member(organization, actor_role)
    invitation, _ = invite(organization, owner, "ada@example.test", Role.VIEWER)
    with pytest.raises(Refused):
        invitation_resend(
            organization=organization,
            invitation_id=invitation.pk,
            actor=Actor(actor),
            base_url=BASE_URL,
        )
    with pytest.raises(Refused):
        invitation_revoke(
            organization=organization, invitation_id=invitation.pk, actor=Actor(actor)
        )


def test_revoked_invitation_cannot_be_used_resent_or_revoked_again(organization, owner):
    invitation, token = invite(organization, owner, "ada@example.test")
    invitation_revoke(organization=organization, invitation_id=invitation.pk, actor=Actor(owner))
    ada = make_user("ada@example.test")
    with pytest.raises(InvitationUnusable) as refused:
        invitation_accept(token=token, actor=Actor(ada))
    assert refused.value.reason == InvitationUnusable.REVOKED
    with pytest.raises(Refused, match="already revoked"):
        invitation_revoke(
            organization=organization, invitation_id=invitation.pk, actor=Actor(owner)
        )
    with pytest.raises(Refused, match="already revoked"):
        invitation_resend(
            organization=organization,
            invitation_id=invitation.pk,
            actor=Actor(owner),
            base_url=BASE_URL,
        )
    # A revoked invitation no longer blocks a fresh one to the same address.
    fresh, _ = invite(organization, owner, "ada@example.test")
    assert fresh.pk != invitation.pk


def test_invitations_of_another_org_cannot_be_touched(
    organization, other_organization, owner, outsider
):
    invitation, _ = invite(other_organization, outsider, "ada@example.test")
    with pytest.raises(NotFound, match="does not exist"):
        invitation_revoke(
            organization=organization, invitation_id=invitation.pk, actor=Actor(owner)
        )


def test_resend_to_someone_who_joined_meanwhile_says_so(organization, owner):
    invitation, _ = invite(organization, owner, "ada@example.test")
    add_member(organization, Role.VIEWER, make_user("ada@example.test"))
    with pytest.raises(Refused, match="already a member"):
        invitation_resend(
            organization=organization,
            invitation_id=invitation.pk,
            actor=Actor(owner),
            base_url=BASE_URL,
        )


# ---- Accepting -----------------------------------------------------------------------------


def test_accept_creates_the_membership_with_the_invited_role(organization, admin):
    invitation, token = invite(organization, admin, "Ada@Example.test", Role.ADMIN)
    ada = make_user("ada@example.test")
    acceptance = invitation_accept(token=token, actor=Actor(ada, ip_address="203.0.113.9"))
    assert not acceptance.already_member
    assert membership_of(ada, organization).role == Role.ADMIN
    assert organization_permissions(ada, organization) == {
        capability.value for capability in ROLE_CAPABILITIES[Role.ADMIN]
    }
    invitation.refresh_from_db()
    assert invitation.accepted_by == ada and invitation.accepted_at is not None
    event = AuditEvent.objects.get(action="invitation.accept")
    assert (event.actor, event.target, event.ip_address) == (ada, ada.email, "203.0.113.9")
    assert event.details["role"] == "admin"


def test_a_token_works_once(organization, owner):
    _, token = invite(organization, owner, "ada@example.test")
    ada = make_user("ada@example.test")
    invitation_accept(token=token, actor=Actor(ada))
    with pytest.raises(InvitationUnusable) as refused:
        invitation_accept(token=token, actor=Actor(ada))
    assert refused.value.reason == InvitationUnusable.ACCEPTED
    assert Membership.objects.filter(user=ada).count() == 1


def test_someone_else_cannot_accept(organization, owner, outsider):
    _, token = invite(organization, owner, "ada@example.test")
    with pytest.raises(InvitationUnusable) as refused:
        invitation_accept(token=token, actor=Actor(outsider))
    assert refused.value.reason == InvitationUnusable.WRONG_ACCOUNT
    assert "ada@example.test" in refused.value.message
    assert not Membership.objects.filter(user=outsider, organization=organization).exists()


def test_expired_invitation_is_refused(organization, owner):
    invitation, token = invite(organization, owner, "ada@example.test")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    with pytest.raises(InvitationUnusable, match="expired") as refused:
        invitation_accept(token=token, actor=Actor(make_user("ada@example.test")))
    assert refused.value.reason == InvitationUnusable.EXPIRED


@pytest.mark.parametrize("token", ["", "nonsense", "x" * 500])
def test_unknown_token_is_refused(db, token):
    with pytest.raises(InvitationUnusable) as refused:
        invitation_accept(token=token, actor=Actor(make_user()))
    assert refused.value.reason == InvitationUnusable.NOT_FOUND


def test_accepting_as_an_existing_member_keeps_the_role(organization, owner, viewer):
    _, token = invite(organization, owner, "someone@example.test", Role.ADMIN)
    invitation = Invitation.objects.get()
    Invitation.objects.filter(pk=invitation.pk).update(email=viewer.email)
    acceptance = invitation_accept(token=token, actor=Actor(viewer))
    assert acceptance.already_member
    assert membership_of(viewer, organization).role == Role.VIEWER
    invitation.refresh_from_db()
    assert not invitation.is_open


def test_invitation_loses_force_when_its_sender_loses_the_right(organization, owner, admin):
    """An Admin demoted after inviting an Admin cannot still make one through the old link."""
    _, token = invite(organization, admin, "ada@example.test", Role.ADMIN)
    membership_change_role(
        organization=organization,
        membership_id=membership_of(admin, organization).pk,
        role=Role.MEMBER,
        actor=Actor(owner),
    )
    ada = make_user("ada@example.test")
    with pytest.raises(InvitationUnusable, match="no longer valid") as refused:
        invitation_accept(token=token, actor=Actor(ada))
    assert refused.value.reason == InvitationUnusable.NO_LONGER_VALID
    assert not Membership.objects.filter(user=ada).exists()


def test_invitation_from_a_removed_sender_is_refused(organization, owner, admin):
    _, token = invite(organization, admin, "ada@example.test", Role.VIEWER)
    membership_remove(
        organization=organization,
        membership_id=membership_of(admin, organization).pk,
        actor=Actor(owner),
    )
    with pytest.raises(InvitationUnusable, match="no longer valid"):
        invitation_accept(token=token, actor=Actor(make_user("ada@example.test")))


def test_handover_through_an_owner_invitation(organization, owner):
    """Invite an Owner, they accept, then the first Owner steps down by leaving."""
    _, token = invite(organization, owner, "heir@example.test", Role.OWNER)
    heir = make_user("heir@example.test")
    invitation_accept(token=token, actor=Actor(heir))
    membership_change_role(
        organization=organization,
        membership_id=membership_of(owner, organization).pk,
        role=Role.ADMIN,
        actor=Actor(heir),
    )
    assert membership_of(owner, organization).role == Role.ADMIN
    assert membership_of(heir, organization).role == Role.OWNER


# ---- Audit ---------------------------------------------------------------------------------


def test_invite_resend_revoke_accept_are_audited_without_tokens(organization, owner):
    invitation, _ = invite(organization, owner, "ada@example.test", Role.MEMBER)
    issued = invitation_resend(
        organization=organization,
        invitation_id=invitation.pk,
        actor=Actor(owner),
        base_url=BASE_URL,
    )
    invitation_accept(token=issued.token, actor=Actor(make_user("ada@example.test")))
    other, _ = invite(organization, owner, "bob@example.test")
    invitation_revoke(organization=organization, invitation_id=other.pk, actor=Actor(owner))
    events = list(
        AuditEvent.objects.filter(action__startswith="invitation.")
        .order_by("id")
        .values_list("action", "target")
    )
    assert events == [
        ("invitation.create", "ada@example.test"),
        ("invitation.resend", "ada@example.test"),
        ("invitation.accept", "ada@example.test"),
        ("invitation.create", "bob@example.test"),
        ("invitation.revoke", "bob@example.test"),
    ]
    for event in AuditEvent.objects.all():
        assert issued.token not in str(event.details)
