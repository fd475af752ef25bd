"""The invitation pages: inviting from Settings > Members, and the invitee's accept page."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import Invitation, InvitationEmail, User
from members.services import invitation_revoke
from orgs.models import AuditEvent, Membership
from orgs.roles import Role
from prism_site.actor import Actor
from tests.factories import PASSWORD, make_user
from tests.members.helpers import invite, membership_of

HTMX = {"HX-Request": "true"}


def invite_url(organization):
    return reverse("members:invite", args=[organization.slug])


def detail(token):
    return reverse("invitations:detail", kwargs={"token": token})


def toasts(response):
    return [t["message"] for t in json.loads(response.headers.get("HX-Trigger") or "{}")["toast"]]


# ---- The invite form ----------------------------------------------------------------------


def test_invite_several_without_javascript(client, organization, admin, member):
    client.force_login(admin)
    response = client.post(
        invite_url(organization),
        {"emails": "ada@example.test, Bob@Example.test\nmember@example.test", "role": "viewer"},
        follow=True,
    )
    page = response.content.decode()
    assert "Invited 2 people as Viewer." in page
    assert "Already a member, not invited: member@example.test." in page
    assert set(Invitation.objects.values_list("email", "role")) == {
        ("ada@example.test", "viewer"),
        ("bob@example.test", "viewer"),
    }
    pending = page.split("Pending invitations")[1]
    assert "ada@example.test" in pending and "Adam Admin" in pending


def test_invite_in_place_returns_the_section_with_the_new_row(client, organization, owner):
    client.force_login(owner)
    response = client.post(
        invite_url(organization), {"emails": "ada@example.test", "role": "admin"}, headers=HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.strip().startswith('<section class="card" id="invitations"')
    assert "ada@example.test" in body and "<html" not in body
    assert toasts(response) == ["Invited ada@example.test as Admin."]


@pytest.mark.parametrize(
    ("emails", "error"),
    [
        ("", "emails: enter at least one email address."),
        ("ada@example.test, not-an-address", "not valid email addresses: not-an-address"),
        (", ".join(f"p{n}@example.test" for n in range(51)), "at most 50 addresses at a time"),
    ],
    ids=["empty", "invalid", "too many"],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_invalid_invitations_show_the_error_by_the_field(
    client, organization, owner, emails, error, htmx
):
    client.force_login(owner)
    response = client.post(
        invite_url(organization), {"emails": emails, "role": "member"}, headers=HTMX if htmx else {}
    )
    assert response.status_code == (200 if htmx else 400)
    assert error in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_re_inviting_an_owner_invitee_is_refused_by_name_and_the_rest_go_out(
    client, organization, owner, admin, htmx
):
    boss, _ = invite(organization, owner, "boss@example.test", Role.OWNER)
    client.force_login(admin)
    response = client.post(
        invite_url(organization),
        {"emails": "boss@example.test, ada@example.test", "role": "viewer"},
        headers=HTMX if htmx else {},
        follow=not htmx,
    )
    assert response.status_code == 200
    refusal = (
        "Not invited: boss@example.test has a pending Owner invitation, which only an Owner "
        "can change."
    )
    if htmx:
        assert toasts(response) == ["Invited ada@example.test as Viewer.", refusal]
    else:
        page = response.content.decode()
        assert "Invited ada@example.test as Viewer." in page and refusal in page
    assert Invitation.objects.get(pk=boss.pk).role == Role.OWNER


def test_re_inviting_only_an_owner_invitee_is_a_visible_refusal(client, organization, owner, admin):
    invite(organization, owner, "boss@example.test", Role.OWNER)
    client.force_login(admin)
    response = client.post(
        invite_url(organization), {"emails": "boss@example.test", "role": "viewer"}
    )
    assert response.status_code == 403
    assert "boss@example.test has a pending Owner invitation" in response.content.decode()
    assert Invitation.objects.get().role == Role.OWNER


def test_admin_cannot_pick_owner_in_the_form(client, organization, admin):
    client.force_login(admin)
    response = client.post(invite_url(organization), {"emails": "x@example.test", "role": "owner"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_past_the_daily_limit_the_page_says_try_again_later(client, organization, owner, htmx):
    client.force_login(owner)
    for batch in range(2):
        emails = ", ".join(f"p{batch}-{n}@example.test" for n in range(50))
        assert (
            client.post(invite_url(organization), {"emails": emails, "role": "viewer"}).status_code
            == 302
        )
    response = client.post(
        invite_url(organization),
        {"emails": "late@example.test", "role": "viewer"},
        headers=HTMX if htmx else {},
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 3600
    text = " ".join(toasts(response)) if htmx else response.content.decode()
    assert "Try again later" in text
    assert not Invitation.objects.filter(email="late@example.test").exists()


def test_resend_and_revoke_from_the_list(client, organization, owner, admin):
    invitation, old_token = invite(organization, owner, "ada@example.test", Role.MEMBER)
    client.force_login(admin)
    response = client.post(
        reverse("members:invitation_resend", args=[organization.slug, invitation.pk]),
        headers=HTMX,
    )
    assert response.status_code == 200
    assert toasts(response) == ["Sent a new invitation link to ada@example.test."]
    assert client.get(detail(old_token)).status_code == 404
    assert InvitationEmail.objects.filter(invitation=invitation).count() == 2

    response = client.post(
        reverse("members:invitation_revoke", args=[organization.slug, invitation.pk]), follow=True
    )
    page = response.content.decode()
    assert "Revoked the invitation to ada@example.test." in page
    assert "No pending invitations." in page
    response = client.post(
        reverse("members:invitation_revoke", args=[organization.slug, invitation.pk])
    )
    assert response.status_code == 403
    assert "already revoked" in response.content.decode()


def test_expired_invitations_are_marked_and_can_be_resent(client, organization, owner):
    invitation, _ = invite(organization, owner, "ada@example.test")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    client.force_login(owner)
    page = client.get(reverse("members:list", args=[organization.slug])).content.decode()
    assert ">Expired<" in page and "Resend" in page


# ---- The invitee's page --------------------------------------------------------------------


def test_anonymous_visitor_sees_org_role_inviter_and_ways_in(client, organization, admin):
    _, token = invite(organization, admin, "ada@example.test", Role.MEMBER)
    response = client.get(detail(token))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Join Acme AI on Prism" in page
    assert "Member" in page and "Adam Admin" in page and "ada@example.test" in page
    assert reverse("invitations:signup", kwargs={"token": token}) in page
    assert f"{reverse('accounts:login')}?next=/invitations/{token}/" in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_get_never_changes_anything(client, organization, owner):
    invitation, token = invite(organization, owner, "ada@example.test")
    ada = make_user("ada@example.test")
    client.force_login(ada)
    page = client.get(detail(token)).content.decode()
    assert "Accept and join Acme AI" in page
    assert not Membership.objects.filter(user=ada).exists()
    invitation.refresh_from_db()
    assert invitation.is_open
    assert client.get(reverse("invitations:accept", kwargs={"token": token})).status_code == 405


@pytest.mark.parametrize("role", list(Role))
def test_the_invited_account_accepts_and_lands_on_the_overview(client, organization, owner, role):
    _, token = invite(organization, owner, "ada@example.test", role)
    ada = make_user("ada@example.test")
    client.force_login(ada)
    response = client.post(reverse("invitations:accept", kwargs={"token": token}), follow=True)
    assert response.redirect_chain[-1][0] == reverse("orgs:overview", args=[organization.slug])
    page = response.content.decode()
    assert f"You joined Acme AI as {role.label}." in page
    assert f"Your role: <strong>{role.label}</strong>" in page
    assert membership_of(ada, organization).role == role
    assert client.session["last_org"] == organization.slug


def test_someone_else_is_refused_and_offered_to_switch_account(client, organization, owner, member):
    _, token = invite(organization, owner, "ada@example.test")
    client.force_login(member)
    response = client.get(detail(token))
    assert response.status_code == 403
    page = response.content.decode()
    assert (
        "This invitation is for ada@example.test, but you are signed in as member@example.test"
        in page
    )
    assert "Sign out and switch account" in page
    response = client.post(reverse("invitations:accept", kwargs={"token": token}))
    assert response.status_code == 403
    assert Membership.objects.filter(organization=organization, user=member).get().role == "member"
    assert not Invitation.objects.get().accepted_at
    # Switching: sign out, then the sign-in page leads back to the invitation.
    response = client.post(
        reverse("accounts:logout"), {"next": f"{reverse('accounts:login')}?next={detail(token)}"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={detail(token)}"


@pytest.mark.parametrize(
    ("state", "status", "text"),
    [
        ("expired", 410, "This invitation expired on"),
        ("revoked", 410, "was withdrawn"),
        ("used", 410, "has already been used"),
        ("unknown", 404, "This invitation link is not valid"),
    ],
)
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "invitee"])
def test_unusable_links_get_a_clear_page(
    client, organization, owner, state, status, text, signed_in
):
    invitation, token = invite(organization, owner, "ada@example.test")
    if state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(1))
    elif state == "revoked":
        invitation_revoke(
            organization=organization, invitation_id=invitation.pk, actor=Actor(owner)
        )
    elif state == "used":
        Invitation.objects.filter(pk=invitation.pk).update(
            accepted_at=timezone.now(), accepted_by=owner
        )
    elif state == "unknown":
        token = ("y" if token.startswith("x") else "x") + token[1:]
    if signed_in:
        client.force_login(make_user("ada@example.test"))
    response = client.get(detail(token))
    assert response.status_code == status
    assert text in response.content.decode()
    if signed_in:
        response = client.post(reverse("invitations:accept", kwargs={"token": token}))
        assert response.status_code == status
        assert text in response.content.decode()
        assert not Membership.objects.filter(user__email="ada@example.test").exists()


def test_a_used_link_takes_its_acceptor_to_the_org(client, organization, owner):
    _, token = invite(organization, owner, "ada@example.test")
    ada = make_user("ada@example.test")
    client.force_login(ada)
    client.post(reverse("invitations:accept", kwargs={"token": token}))
    response = client.get(detail(token))
    assert response.status_code == 302
    assert response["Location"] == reverse("orgs:overview", args=[organization.slug])


def test_anonymous_accept_goes_to_sign_in_and_back(client, organization, owner):
    _, token = invite(organization, owner, "ada@example.test", Role.VIEWER)
    ada = make_user("ada@example.test")
    response = client.post(reverse("invitations:accept", kwargs={"token": token}))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next=/invitations/{token}/"
    response = client.post(
        reverse("accounts:login"),
        {"username": "ada@example.test", "password": PASSWORD, "next": detail(token)},
    )
    assert response["Location"] == detail(token)
    client.post(reverse("invitations:accept", kwargs={"token": token}))
    assert membership_of(ada, organization).role == Role.VIEWER


def test_an_existing_account_is_sent_to_sign_in_not_sign_up(client, organization, owner):
    _, token = invite(organization, owner, "ada@example.test")
    make_user("ada@example.test")
    page = client.get(detail(token)).content.decode()
    assert "already has a Prism account" in page
    assert "Create account" not in page
    response = client.get(reverse("invitations:signup", kwargs={"token": token}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# ---- Signing up from an invitation ---------------------------------------------------------


def test_signing_up_from_an_invitation_signs_in_joins_and_lands_in_the_org(
    client, organization, owner
):
    invitation, token = invite(organization, owner, "ada@example.test", Role.ADMIN)
    signup = reverse("invitations:signup", kwargs={"token": token})
    page = client.get(signup).content.decode()
    field = page.split('name="email"')[1].split(">")[0]
    assert 'value="ada@example.test"' in field and "disabled" in field
    response = client.post(
        signup,
        {"display_name": "Ada", "email": "eve@example.test", "password": PASSWORD},
        follow=True,
    )
    # The email is the invited one whatever was sent; the one step signs in, accepts, lands.
    assert response.redirect_chain == [(f"/o/{organization.slug}/", 302)]
    page = response.content.decode()
    assert "You joined Acme AI as Admin." in page
    assert "Your role: <strong>Admin</strong>" in page
    assert not Membership.objects.filter(user__email="eve@example.test").exists()
    ada = Membership.objects.get(user__email="ada@example.test")
    assert (ada.organization, ada.role, ada.user.display_name) == (organization, "admin", "Ada")
    invitation.refresh_from_db()
    assert invitation.accepted_by == ada.user and invitation.accepted_at is not None
    assert AuditEvent.objects.filter(action="invitation.accept", target="ada@example.test").exists()
    # Signed in: the org's pages open, and home goes to the org joined.
    assert client.get(reverse("home"))["Location"] == f"/o/{organization.slug}/"


def test_an_invitation_revoked_before_the_signup_is_sent_creates_no_account(
    client, organization, owner
):
    invitation, token = invite(organization, owner, "ada@example.test")
    signup = reverse("invitations:signup", kwargs={"token": token})
    client.get(signup)
    invitation_revoke(organization=organization, invitation_id=invitation.pk, actor=Actor(owner))
    response = client.post(signup, {"display_name": "Ada", "password": PASSWORD})
    assert response.status_code in (403, 410)
    assert not User.objects.filter(email="ada@example.test").exists()


def test_signup_rejects_a_weak_password_naming_the_field(client, organization, owner):
    _, token = invite(organization, owner, "ada@example.test")
    response = client.post(
        reverse("invitations:signup", kwargs={"token": token}),
        {"display_name": "Ada", "password": "123"},
    )
    assert response.status_code == 400
    assert "This password is too short" in response.content.decode()


def test_no_longer_valid_invitation_page(client, organization, owner, admin):
    _, token = invite(organization, admin, "ada@example.test", Role.ADMIN)
    client.force_login(owner)
    client.post(
        reverse(
            "members:change_role", args=[organization.slug, membership_of(admin, organization).pk]
        ),
        {"role": "viewer"},
    )
    client.force_login(make_user("ada@example.test"))
    response = client.get(detail(token))
    assert response.status_code == 403
    assert "no longer valid" in response.content.decode()


def test_staff_see_invitations_read_only_in_the_django_admin(client, organization, owner):
    invitation, token = invite(organization, owner, "ada@example.test")
    staff = make_user("staff@example.test")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    listing = client.get(reverse("admin:members_invitation_changelist"))
    assert listing.status_code == 200 and "ada@example.test" in listing.content.decode()
    page = client.get(reverse("admin:members_invitation_change", args=[invitation.pk]))
    assert page.status_code == 200
    assert invitation.token_hash not in page.content.decode() and token not in page.content.decode()
    assert client.get(reverse("admin:members_invitation_add")).status_code == 403
