"""Settings > Members in the browser's terms: who sees which controls, role changes, removal,
leaving, and every refusal shown with its reason."""

import html
import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import members.services
from members.models import Invitation
from orgs.models import AuditEvent, Membership
from orgs.roles import Role
from prism_site.errors import Refused
from tests.factories import add_member
from tests.members.helpers import invite, membership_of

HTMX = {"HX-Request": "true"}


def page_of(client, organization, query=""):
    response = client.get(reverse("members:list", args=[organization.slug]) + query)
    assert response.status_code == 200
    return response.content.decode()


def role_url(organization, user):
    return reverse(
        "members:change_role", args=[organization.slug, membership_of(user, organization).pk]
    )


def remove_url(organization, user):
    return reverse("members:remove", args=[organization.slug, membership_of(user, organization).pk])


def toasts(response) -> list[str]:
    events = json.loads(response.headers.get("HX-Trigger") or "{}")
    return [toast["message"] for toast in events.get("toast", [])]


def role_select_ids(page: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'<select name="role" id="role-(\d+)"', page)}


# ---- What each role sees -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_every_member_sees_the_list(client, users_by_role, organization, role):
    client.force_login(users_by_role[role])
    page = page_of(client, organization)
    for person in ("Olivia Owner", "Adam Admin", "Mia Member", "Vic Viewer"):
        assert person in page
    for email in ("owner@example.test", "viewer@example.test"):
        assert email in page
    assert "Pending invitations" in page
    assert "Leave organization" in page


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_see_no_controls(client, users_by_role, organization, owner, role):
    invite(organization, owner, "pending@example.test")
    client.force_login(users_by_role[role])
    page = page_of(client, organization)
    assert role_select_ids(page) == set()
    assert "Remove…" not in page
    assert "Send invitations" not in page
    assert "pending@example.test" in page
    assert "Resend" not in page and "Revoke" not in page


def test_admin_controls_admins_members_and_viewers_but_not_owners_or_self(
    client, users_by_role, organization, owner, admin, member, viewer
):
    other_admin = add_member(organization, Role.ADMIN)
    client.force_login(admin)
    page = page_of(client, organization)
    assert role_select_ids(page) == {
        membership_of(user, organization).pk for user in (other_admin, member, viewer)
    }
    # The role choices an Admin may give never include Owner.
    select = page.split(f'id="role-{membership_of(member, organization).pk}"')[1].split(
        "</select>"
    )[0]
    assert "Admin" in select and "Viewer" in select and "Owner" not in select


def test_owner_controls_everyone_but_self(client, users_by_role, organization, owner):
    second_owner = add_member(organization, Role.OWNER)
    client.force_login(owner)
    page = page_of(client, organization)
    others = Membership.objects.filter(organization=organization).exclude(user=owner)
    assert role_select_ids(page) == {m.pk for m in others}
    select = page.split(f'id="role-{membership_of(second_owner, organization).pk}"')[1]
    assert '<option value="owner" selected>Owner</option>' in select.split("</select>")[0]


def test_invite_form_offers_only_roles_up_to_your_own(client, organization, owner, admin):
    client.force_login(admin)
    page = page_of(client, organization)
    form = page.split('name="role" id="id_role"')[1].split("</select>")[0]
    assert "Owner" not in form and "Admin" in form
    client.force_login(owner)
    form = page_of(client, organization).split('name="role" id="id_role"')[1].split("</select>")[0]
    assert "Owner" in form


# ---- Role changes --------------------------------------------------------------------------


@pytest.mark.parametrize("actor_role", ["owner", "admin"])
def test_role_change_without_javascript(client, users_by_role, organization, member, actor_role):
    client.force_login(users_by_role[actor_role])
    response = client.post(role_url(organization, member), {"role": "viewer"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("members:list", args=[organization.slug])
    assert "member@example.test is now Viewer." in response.content.decode()
    assert membership_of(member, organization).role == Role.VIEWER


def test_role_change_in_place_returns_the_row_and_a_toast(client, organization, admin, viewer):
    client.force_login(admin)
    response = client.post(role_url(organization, viewer), {"role": "member"}, headers=HTMX)
    assert response.status_code == 200
    row = response.content.decode()
    assert row.strip().startswith(f'<tr id="member-{membership_of(viewer, organization).pk}"')
    assert '<option value="member" selected>Member</option>' in row
    assert toasts(response) == ["viewer@example.test is now Member."]
    assert AuditEvent.objects.filter(action="member.role_change", target=viewer.email).exists()


@pytest.mark.parametrize(
    ("actor_role", "target_role", "new_role", "reason"),
    [
        ("admin", "owner", "member", "Only an Owner can grant, change or remove the Owner role."),
        ("admin", "member", "owner", "Only an Owner can grant, change or remove the Owner role."),
        ("owner", "self", "member", "You cannot change your own role"),
        ("admin", "self", "viewer", "You cannot change your own role"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_refused_role_changes_say_why(
    client, users_by_role, organization, actor_role, target_role, new_role, reason, htmx
):
    actor = users_by_role[actor_role]
    target = actor if target_role == "self" else users_by_role[target_role]
    before = membership_of(target, organization).role
    client.force_login(actor)
    response = client.post(
        role_url(organization, target), {"role": new_role}, headers=HTMX if htmx else {}
    )
    assert response.status_code == 403
    if htmx:
        assert any(reason in toast for toast in toasts(response))
    else:
        assert reason in response.content.decode()
        assert 'role="alert"' in response.content.decode()
    assert membership_of(target, organization).role == before


@pytest.mark.parametrize("actor_role", ["member", "viewer"])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_members_and_viewers_are_refused_visibly(
    client, users_by_role, organization, admin, actor_role, htmx
):
    client.force_login(users_by_role[actor_role])
    headers = HTMX if htmx else {}
    for response in (
        client.post(role_url(organization, admin), {"role": "viewer"}, headers=headers),
        client.post(remove_url(organization, admin), headers=headers),
        client.post(
            reverse("members:invite", args=[organization.slug]),
            {"emails": "x@example.test", "role": "viewer"},
            headers=headers,
        ),
    ):
        assert response.status_code == 403
        if htmx:
            assert any(
                "can't invite members or change their roles" in toast for toast in toasts(response)
            )
        else:
            assert "can't invite members or change their roles" in html.unescape(
                response.content.decode()
            )
    assert membership_of(admin, organization).role == Role.ADMIN


def test_unknown_role_is_refused_naming_the_field(client, organization, owner, member):
    client.force_login(owner)
    response = client.post(role_url(organization, member), {"role": "emperor"})
    assert response.status_code == 400
    assert "role: choose one of Owner, Admin, Member, Viewer." in response.content.decode()


def test_a_role_change_applies_on_the_very_next_request(client, organization, owner, admin):
    client.force_login(owner)
    client.post(role_url(organization, admin), {"role": "viewer"})
    client.force_login(admin)
    page = page_of(client, organization)
    assert role_select_ids(page) == set() and "Send invitations" not in page
    response = client.post(
        reverse("members:invite", args=[organization.slug]),
        {"emails": "x@example.test", "role": "viewer"},
    )
    assert response.status_code == 403


def test_ownership_handover_through_the_page(client, organization, owner, admin):
    client.force_login(owner)
    assert client.post(role_url(organization, admin), {"role": "owner"}).status_code == 302
    client.force_login(admin)
    # The new Owner steps the old one down; the old one could not do it to themselves.
    assert client.post(role_url(organization, owner), {"role": "admin"}).status_code == 302
    assert membership_of(owner, organization).role == Role.ADMIN
    assert membership_of(admin, organization).role == Role.OWNER
    client.force_login(owner)
    response = client.post(role_url(organization, admin), {"role": "member"})
    assert response.status_code == 403


# ---- Removal -------------------------------------------------------------------------------


def test_remove_without_javascript(client, organization, admin, viewer):
    client.force_login(admin)
    response = client.post(remove_url(organization, viewer), follow=True)
    assert "Removed viewer@example.test from Acme AI." in response.content.decode()
    assert not Membership.objects.filter(user=viewer, organization=organization).exists()
    client.force_login(viewer)
    assert client.get(reverse("members:list", args=[organization.slug])).status_code == 404


def test_remove_in_place_empties_the_row_updates_the_count_and_closes_the_dialog(
    client, organization, owner, member, viewer
):
    client.force_login(owner)
    response = client.post(remove_url(organization, member), headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="member-count" hx-swap-oob="true">2<' in body
    events = json.loads(response.headers["HX-Trigger"])
    assert "closeDialog" in events
    assert toasts(response) == ["Removed member@example.test from Acme AI."]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_admin_cannot_remove_an_owner(client, organization, owner, admin, htmx):
    client.force_login(admin)
    response = client.post(remove_url(organization, owner), headers=HTMX if htmx else {})
    assert response.status_code == 403
    text = " ".join(toasts(response)) if htmx else response.content.decode()
    assert "Only an Owner can grant, change or remove the Owner role." in text
    assert membership_of(owner, organization).role == Role.OWNER


def test_removing_yourself_points_to_leave(client, organization, admin):
    client.force_login(admin)
    response = client.post(remove_url(organization, admin))
    assert response.status_code == 403
    assert "use Leave organization" in response.content.decode()


# ---- Leaving -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_leave(client, users_by_role, organization, role):
    user = users_by_role[role]
    client.force_login(user)
    response = client.post(reverse("members:leave", args=[organization.slug]), follow=True)
    assert "You left Acme AI." in response.content.decode()
    assert not Membership.objects.filter(user=user, organization=organization).exists()
    assert AuditEvent.objects.filter(action="member.leave", target=user.email).exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_last_owner_cannot_leave(client, organization, owner, htmx):
    client.force_login(owner)
    response = client.post(
        reverse("members:leave", args=[organization.slug]), headers=HTMX if htmx else {}
    )
    assert response.status_code == 403
    text = " ".join(toasts(response)) if htmx else response.content.decode()
    assert "An organization needs at least one Owner" in text
    assert membership_of(owner, organization).role == Role.OWNER


def test_an_owner_leaves_once_another_owner_exists_htmx(client, organization, owner):
    add_member(organization, Role.OWNER)
    client.force_login(owner)
    response = client.post(reverse("members:leave", args=[organization.slug]), headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == reverse("home")
    assert not Membership.objects.filter(user=owner, organization=organization).exists()


# ---- Last seen (pages, search and filters: test_members_page_crowded.py) ------------------


def test_last_seen_is_one_update_at_most_every_few_minutes(client, organization, owner, member):
    client.force_login(member)
    url = reverse("orgs:overview", args=[organization.slug])

    def updates_during_a_visit() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return [
            q["sql"] for q in queries if "members_membership" in q["sql"] and "UPDATE" in q["sql"]
        ]

    assert len(updates_during_a_visit()) == 1
    seen = membership_of(member, organization).last_seen_at
    assert seen is not None
    assert updates_during_a_visit() == []  # within the precision window: no write
    assert membership_of(member, organization).last_seen_at == seen
    stale = timezone.now() - Membership.LAST_SEEN_PRECISION - timedelta(seconds=1)
    Membership.objects.filter(user=member).update(last_seen_at=stale)
    assert len(updates_during_a_visit()) == 1
    assert membership_of(member, organization).last_seen_at > seen

    client.force_login(owner)
    page = page_of(client, organization)
    row = page.split(f'id="member-{membership_of(member, organization).pk}"')[1].split("</tr>")[0]
    assert ">just now</time>" in row
    Membership.objects.filter(user=member).update(last_seen_at=timezone.now() - timedelta(days=3))
    page = page_of(client, organization)
    row = page.split(f'id="member-{membership_of(member, organization).pk}"')[1].split("</tr>")[0]
    assert "3\xa0days ago" in row


# ---- Pending invitations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "sees_error"),
    [("owner", True), ("admin", True), ("member", False), ("viewer", False)],
)
def test_only_those_who_manage_members_see_the_mail_server_error(
    client, users_by_role, organization, owner, role, sees_error
):
    invitation, _ = invite(organization, owner, "ada@example.test")
    Invitation.objects.filter(pk=invitation.pk).update(
        delivery_failed_at=timezone.now(),
        delivery_error="SMTPRecipientsRefused: 550 relay.internal.example rejected",
    )
    client.force_login(users_by_role[role])
    pending = page_of(client, organization).split("Pending invitations")[1]
    assert "ada@example.test" in pending and "Not delivered" in pending
    assert ("relay.internal.example" in pending) == sees_error


# ---- Things of another org -----------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_member_of_another_org_is_not_found_here(
    client, organization, other_organization, owner, htmx
):
    stranger = add_member(other_organization, Role.MEMBER)
    membership = membership_of(stranger, other_organization)
    client.force_login(owner)
    for url, data in [
        (
            reverse("members:change_role", args=[organization.slug, membership.pk]),
            {"role": "viewer"},
        ),
        (reverse("members:remove", args=[organization.slug, membership.pk]), {}),
    ]:
        response = client.post(url, data, headers=HTMX if htmx else {})
        assert response.status_code == 404
        said = toasts(response) if htmx else [response.content.decode()]
        assert "That person is not a member of this organization." in " ".join(said)
    assert membership_of(stranger, other_organization).role == Role.MEMBER


@pytest.mark.parametrize("action", ["invitation_resend", "invitation_revoke"])
def test_an_invitation_of_another_org_is_not_found_here(
    client, organization, other_organization, owner, outsider, action
):
    invitation, _ = invite(other_organization, outsider, "ada@example.test")
    client.force_login(owner)
    response = client.post(reverse(f"members:{action}", args=[organization.slug, invitation.pk]))
    assert response.status_code == 404
    assert "That invitation does not exist in this organization." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.is_open and invitation.invited_by == outsider


def test_a_member_who_left_meanwhile_is_still_a_refusal_with_a_reason(
    client, organization, owner, member, monkeypatch
):
    """The row exists when the page checks it, and is gone when the service locks the org."""

    def left_meanwhile(**kwargs):
        raise Refused("That person is no longer a member of this organization.")

    monkeypatch.setattr(members.services, "membership_remove", left_meanwhile)
    client.force_login(owner)
    response = client.post(remove_url(organization, member))
    assert response.status_code == 403
    assert "no longer a member" in response.content.decode()
