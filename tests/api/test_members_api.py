"""Members and invitations over the admin API: the member list in cursor pages, role changes and
removals under the services' rules (own role, the Owner role, the last Owner), invitations sent
in batches through the task worker with a result per address (and never a link's secret in an
answer), Idempotency-Key replays, the open list and revokes; another org's rows out of reach."""

import pytest
from django.core import mail

from members.models import Invitation, InvitationEmail
from members.services import invitation_accept
from orgs.models import AuditEvent, Membership, Organization
from orgs.roles import Role
from prism_site.actor import Actor
from tests.api.conftest import call, error_of
from tests.factories import add_member, make_user
from tests.members.helpers import invite, token_in
from tests.members.worker import run_queued_tasks

pytestmark = pytest.mark.django_db


def members_path(world, member_id: str = "") -> str:
    path = f"/v1/orgs/{world.acme_slug}/members"
    return f"{path}/{member_id}" if member_id else path


def invitations_path(world, invitation_id: str = "") -> str:
    path = f"/v1/orgs/{world.acme_slug}/invitations"
    return f"{path}/{invitation_id}" if invitation_id else path


def member_id(world, role: str) -> str:
    membership = Membership.objects.get(organization_id=world.acme, user_id=world.users[role])
    return f"mem_{membership.pk}"


def test_the_member_list_pages_owners_first_and_shows_no_other_org(
    api_world, django_assert_max_num_queries
):
    organization = Organization.objects.get(pk=api_world.acme)
    for number in range(60):
        add_member(organization, Role.VIEWER, make_user(f"crowd{number:02}@example.test"))
    # The token, its last use and its earlier rate-limit minutes (each at most once a minute),
    # the rate-limit upsert, membership with org, capabilities; the page and its count.
    with django_assert_max_num_queries(8):
        first = call("GET", members_path(api_world), api_world.credentials["viewer_token"])
    assert first.status_code == 200, first.content
    body = first.json()
    assert len(body["data"]) == 50 and body["next_cursor"]
    assert body["data"][0] == {
        "id": member_id(api_world, "owner"),
        "email": "owner@example.test",
        "name": "Olivia Owner",
        "role": "owner",
        "joined_at": body["data"][0]["joined_at"],
        "last_seen_at": None,
    }
    with django_assert_max_num_queries(8):
        second = call(
            "GET",
            f"{members_path(api_world)}?cursor={body['next_cursor']}",
            api_world.credentials["viewer_token"],
        ).json()
    emails = [member["email"] for member in body["data"] + second["data"]]
    assert len(emails) == len(set(emails)) == 64 and second["next_cursor"] is None
    assert "other-owner@example.test" not in emails
    admins = call(
        "GET", f"{members_path(api_world)}?role=admin", api_world.credentials["owner_key"]
    ).json()
    assert [member["email"] for member in admins["data"]] == ["admin@example.test"]
    bad = call("GET", f"{members_path(api_world)}?role=boss", api_world.credentials["owner_key"])
    assert bad.status_code == 422 and error_of(bad)["param"] == "role"


def test_a_role_change_goes_through_the_service_and_is_audited_via_the_credential(api_world):
    response = call(
        "PATCH",
        members_path(api_world, member_id(api_world, "member")),
        api_world.credentials["admin_key"],
        {"role": "viewer"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "viewer" and response.json()["email"] == "member@example.test"
    membership = Membership.objects.get(
        organization_id=api_world.acme, user_id=api_world.users["member"]
    )
    assert membership.role == Role.VIEWER
    event = AuditEvent.objects.get(action="member.role_change", target="member@example.test")
    assert event.api_key_id == api_world.keys["admin_key"]
    assert event.details == {"from": "member", "to": "viewer"}
    # The new role holds on the next call.
    keys = call(
        "GET", f"/v1/orgs/{api_world.acme_slug}/keys", api_world.credentials["member_token"]
    )
    assert keys.status_code == 403


@pytest.mark.parametrize(
    ("caller", "target", "role", "status", "says"),
    [
        # Only an Owner grants the Owner role; an Admin's key acts as the Admin.
        ("admin_key", "member", "owner", 403, "Only an Owner"),
        ("admin_token", "owner", "viewer", 403, "Only an Owner"),
        ("admin_token", "admin", "viewer", 403, "your own role"),
        ("owner_token", "owner", "admin", 403, "your own role"),
        ("member_token", "viewer", "member", 403, "can't invite members or change their roles"),
        ("owner_token", "member", "chief", 422, "role: must be one of"),
        ("owner_token", "member", None, 422, "role: must be one of"),
    ],
)
def test_role_changes_keep_the_pages_rules(api_world, caller, target, role, status, says):
    response = call(
        "PATCH",
        members_path(api_world, member_id(api_world, target)),
        api_world.credentials[caller],
        {"role": role},
    )
    assert response.status_code == status, response.content
    assert says in error_of(response)["message"]
    assert not AuditEvent.objects.filter(action="member.role_change").exists()


def test_an_owner_hands_the_owner_role_over_and_the_org_keeps_one(api_world):
    promoted = call(
        "PATCH",
        members_path(api_world, member_id(api_world, "admin")),
        api_world.credentials["owner_token"],
        {"role": "owner"},
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    # The new Owner demotes the first, whose token then acts as an Admin.
    demoted = call(
        "PATCH",
        members_path(api_world, member_id(api_world, "owner")),
        api_world.credentials["admin_token"],
        {"role": "admin"},
    )
    assert demoted.status_code == 200
    back = call(
        "PATCH",
        members_path(api_world, member_id(api_world, "admin")),
        api_world.credentials["owner_token"],
        {"role": "admin"},
    )
    assert back.status_code == 403 and "Only an Owner" in error_of(back)["message"]
    # The one Owner left cannot be removed by anyone else.
    removed = call(
        "DELETE",
        members_path(api_world, member_id(api_world, "admin")),
        api_world.credentials["owner_token"],
    )
    assert removed.status_code == 403
    owners = Membership.objects.filter(organization_id=api_world.acme, role=Role.OWNER)
    assert list(owners.values_list("user_id", flat=True)) == [api_world.users["admin"]]


def test_remove_answers_204_and_the_member_is_gone_and_audited(api_world):
    path = members_path(api_world, member_id(api_world, "viewer"))
    response = call("DELETE", path, api_world.credentials["owner_token"])
    assert response.status_code == 204 and response.content == b""
    assert not Membership.objects.filter(
        organization_id=api_world.acme, user_id=api_world.users["viewer"]
    ).exists()
    event = AuditEvent.objects.get(action="member.remove", target="viewer@example.test")
    assert event.details["token_id"].startswith("pat_")
    assert event.actor_id == api_world.users["owner"]
    again = call("DELETE", path, api_world.credentials["owner_token"])
    assert again.status_code == 404 and error_of(again)["code"] == "not_found"
    viewer_token = api_world.credentials["viewer_token"]
    assert call("GET", members_path(api_world), viewer_token).status_code == 404


@pytest.mark.parametrize("member", ["mem_0", "mem_x", "42", "mem_99999999", "other"])
def test_unknown_and_other_orgs_members_are_404(api_world, member):
    if member == "other":
        other = Membership.objects.get(organization_id=api_world.other)
        member = f"mem_{other.pk}"
    for method, body in (("PATCH", {"role": "viewer"}), ("DELETE", None)):
        response = call(
            method, members_path(api_world, member), api_world.credentials["owner_token"], body
        )
        assert response.status_code == 404, (method, member, response.content)
    assert Membership.objects.filter(organization_id=api_world.other).count() == 1


def test_an_invitation_batch_reports_each_address_and_the_worker_sends_the_emails(
    api_world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = call(
            "POST",
            invitations_path(api_world),
            api_world.credentials["admin_token"],
            {
                "emails": ["Ada@Example.test", "bob@example.test", "member@example.test"],
                "role": "viewer",
            },
        )
    assert response.status_code == 201, response.content
    results = {row["email"]: row for row in response.json()["data"]}
    assert results["ada@example.test"]["result"] == "invited"
    assert results["ada@example.test"]["invitation"]["role"] == "viewer"
    assert results["ada@example.test"]["invitation"]["id"].startswith("inv_")
    assert results["member@example.test"] == {
        "email": "member@example.test",
        "result": "already_member",
        "message": None,
        "invitation": None,
    }
    # Nothing is mailed until the worker runs; then the link's secret is in the email only.
    assert mail.outbox == []
    assert run_queued_tasks() == 1
    assert sorted(message.to[0] for message in mail.outbox) == [
        "ada@example.test",
        "bob@example.test",
    ]
    for message in mail.outbox:
        assert token_in(message) not in response.content.decode()
    event = AuditEvent.objects.get(action="invitation.create", target="ada@example.test")
    assert event.details["token_id"].startswith("pat_")
    assert event.actor_id == api_world.users["admin"]


def test_invitation_batches_refuse_what_the_page_refuses(api_world):
    path = invitations_path(api_world)
    not_list = call("POST", path, api_world.credentials["owner_token"], {"emails": "a@b.test"})
    assert not_list.status_code == 422 and error_of(not_list)["param"] == "emails"
    invalid = call(
        "POST", path, api_world.credentials["owner_token"], {"emails": ["fine@example.test", "x@"]}
    )
    assert invalid.status_code == 422 and "x@" in error_of(invalid)["message"]
    unknown = call(
        "POST",
        path,
        api_world.credentials["owner_token"],
        {"emails": ["a@example.test"], "roles": "admin"},
    )
    assert unknown.status_code == 422 and error_of(unknown)["param"] == "roles"
    too_many = call(
        "POST",
        path,
        api_world.credentials["owner_token"],
        {"emails": [f"p{n}@example.test" for n in range(51)]},
    )
    assert too_many.status_code == 422 and "at most 50" in error_of(too_many)["message"]
    owner_by_admin = call(
        "POST",
        path,
        api_world.credentials["admin_key"],
        {"emails": ["boss@example.test"], "role": "owner"},
    )
    assert owner_by_admin.status_code == 403 and "Owner" in error_of(owner_by_admin)["message"]
    by_member = call(
        "POST", path, api_world.credentials["member_token"], {"emails": ["m@example.test"]}
    )
    assert by_member.status_code == 403
    assert not Invitation.objects.filter(organization_id=api_world.acme).exists()
    # An Owner's pending Owner invitation is left alone when an Admin invites the address.
    call(
        "POST",
        path,
        api_world.credentials["owner_token"],
        {"emails": ["boss@example.test"], "role": "owner"},
    )
    mixed = call(
        "POST",
        path,
        api_world.credentials["admin_token"],
        {"emails": ["boss@example.test", "new@example.test"]},
    )
    assert mixed.status_code == 201
    results = {row["email"]: row for row in mixed.json()["data"]}
    assert results["boss@example.test"]["result"] == "refused"
    assert "only an Owner can change" in results["boss@example.test"]["message"]
    assert results["new@example.test"]["result"] == "invited"
    assert Invitation.objects.get(email="boss@example.test").role == Role.OWNER


def test_an_invitation_batch_with_an_idempotency_key_is_sent_once(api_world):
    body = {"emails": ["once@example.test"], "role": "member"}
    headers = {"Idempotency-Key": "invite-once-1"}
    first = call(
        "POST", invitations_path(api_world), api_world.credentials["owner_key"], body, headers
    )
    again = call(
        "POST",
        invitations_path(api_world),
        api_world.credentials["owner_key"],
        '{"role":"member", "emails":["once@example.test"]}',
        headers,
    )
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert InvitationEmail.objects.filter(email="once@example.test").count() == 1
    other = call(
        "POST",
        invitations_path(api_world),
        api_world.credentials["owner_key"],
        {"emails": ["twice@example.test"]},
        headers,
    )
    assert other.status_code == 422 and error_of(other)["code"] == "idempotency_key_reused"
    # Without the key, the same request refreshes the open invitation (a new link, a new email).
    fresh = call("POST", invitations_path(api_world), api_world.credentials["owner_key"], body)
    assert fresh.json()["data"][0]["result"] == "refreshed"
    assert InvitationEmail.objects.filter(email="once@example.test").count() == 2


def test_open_invitations_list_in_pages_and_revoke(api_world, django_assert_max_num_queries):
    organization = Organization.objects.get(pk=api_world.acme)
    owner = organization.memberships.get(role="owner").user
    for number in range(55):
        invite(organization, owner, f"guest{number:02}@example.test")
    # As the member list: credential and access (six at most), the page and the total.
    with django_assert_max_num_queries(8):
        first = call("GET", invitations_path(api_world), api_world.credentials["viewer_token"])
    body = first.json()
    assert first.status_code == 200 and len(body["data"]) == 50 and body["next_cursor"]
    assert body["data"][0]["email"] == "guest54@example.test"
    assert body["data"][0]["invited_by"] == "owner@example.test"
    assert body["data"][0]["status"] == "pending"
    second = call(
        "GET",
        f"{invitations_path(api_world)}?cursor={body['next_cursor']}",
        api_world.credentials["viewer_token"],
    ).json()
    assert len(second["data"]) == 5 and second["next_cursor"] is None

    target = body["data"][0]["id"]
    refused = call(
        "DELETE", invitations_path(api_world, target), api_world.credentials["viewer_token"]
    )
    assert refused.status_code == 403
    revoked = call(
        "DELETE", invitations_path(api_world, target), api_world.credentials["admin_key"]
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    event = AuditEvent.objects.get(action="invitation.revoke", target="guest54@example.test")
    assert event.api_key_id == api_world.keys["admin_key"]
    again = call("DELETE", invitations_path(api_world, target), api_world.credentials["admin_key"])
    assert again.status_code == 200 and again.json()["status"] == "revoked"
    assert AuditEvent.objects.filter(action="invitation.revoke").count() == 1
    listed = call("GET", invitations_path(api_world), api_world.credentials["viewer_token"]).json()
    assert target not in [invitation["id"] for invitation in listed["data"]]


def test_an_accepted_invitation_is_a_conflict_and_other_orgs_invitations_404(api_world):
    organization = Organization.objects.get(pk=api_world.acme)
    owner = organization.memberships.get(role="owner").user
    invitation, token = invite(organization, owner, "joiner@example.test")
    invitation_accept(token=token, actor=Actor(make_user("joiner@example.test")))
    accepted = call(
        "DELETE",
        invitations_path(api_world, f"inv_{invitation.pk}"),
        api_world.credentials["owner_token"],
    )
    assert accepted.status_code == 409 and error_of(accepted)["code"] == "invitation_accepted"

    other = Organization.objects.get(pk=api_world.other)
    theirs, _ = invite(other, other.memberships.get().user, "theirs@example.test")
    for invitation_id in (f"inv_{theirs.pk}", "inv_0", "inv_x", str(theirs.pk)):
        response = call(
            "DELETE",
            invitations_path(api_world, invitation_id),
            api_world.credentials["owner_token"],
        )
        assert response.status_code == 404, invitation_id
    assert Invitation.objects.get(pk=theirs.pk).revoked_at is None


def test_a_role_change_takes_only_the_role(api_world):
    response = call(
        "PATCH",
        members_path(api_world, member_id(api_world, "member")),
        api_world.credentials["owner_token"],
        {"role": "viewer", "email": "someone@example.test"},
    )
    assert response.status_code == 422 and error_of(response)["param"] == "email"
    assert (
        Membership.objects.get(
            organization_id=api_world.acme, user_id=api_world.users["member"]
        ).role
        == Role.MEMBER
    )
