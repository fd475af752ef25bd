"""Settings > Members and the invitation pages never answer bad input with a server error:
addresses the columns cannot hold, ids and tokens no row can have, junk query parameters, and
a daily limit reached from a plain form (run these on PostgreSQL too: it refuses what SQLite
stores)."""

import json

import pytest
from django.urls import reverse

from members.models import Invitation, InvitationEmail
from members.services import DAILY_LIMIT_PER_ADDRESS, invitation_resend, invitations_send
from orgs.models import Membership
from orgs.roles import Role
from prism_site.actor import Actor
from tests.members.helpers import BASE_URL, invite

HTMX = {"HX-Request": "true"}

# Marks the module as using the database, so the test database exists for the shared org.
pytestmark = pytest.mark.django_db


# The organization is built once for the module (tests/conftest.py `shared_org`).
@pytest.fixture
def organization(shared_organization):
    return shared_organization


@pytest.fixture
def owner(shared_owner):
    return shared_owner


def text(response) -> str:
    return response.content.decode()


def toasts(response) -> list[str]:
    trigger = json.loads(response.headers.get("HX-Trigger") or "{}")
    return [toast["message"] for toast in trigger.get("toast", [])]


def long_address(length: int) -> str:
    """A syntactically valid address of exactly `length` characters (Django accepts up to 320)."""
    room = length - len("a" * 64 + "@") - len(".test")
    labels = []
    while room > 0:
        size = min(63, room)
        if room - size == 1:
            size -= 1
        labels.append("b" * size)
        room -= size + 1
    address = "a" * 64 + "@" + ".".join(labels) + ".test"
    assert len(address) == length
    return address


# -- Addresses the columns cannot hold ---------------------------------------------------------


@pytest.mark.parametrize("length", [255, 300, 320, 321, 10_000])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_over_long_address_is_refused_and_the_rest_go_out(
    client, organization, owner, length, htmx
):
    address = long_address(length) if length <= 320 else "a" * (length - 13) + "@example.test"
    client.force_login(owner)
    response = client.post(
        reverse("members:invite", args=[organization.slug]),
        {"emails": f"ada@example.test, {address}\nbob@example.test", "role": "member"},
        headers=HTMX if htmx else {},
        follow=not htmx,
    )
    assert response.status_code == 200
    said = " ".join(toasts(response)) if htmx else text(response)
    assert "Invited 2 people as Member." in said
    assert f"is longer than 254 characters ({length})" in said
    # The refusal shows the start and end of the address, not all of it.
    assert address not in said
    assert set(Invitation.objects.values_list("email", flat=True)) == {
        "ada@example.test",
        "bob@example.test",
    }


def test_only_over_long_addresses_is_a_refusal_naming_the_field(client, organization, owner):
    client.force_login(owner)
    response = client.post(
        reverse("members:invite", args=[organization.slug]),
        {"emails": long_address(255), "role": "member"},
    )
    assert response.status_code == 400
    assert "emails: " in text(response) and "longer than 254 characters" in text(response)
    assert not Invitation.objects.exists()


def test_the_longest_address_the_column_holds_is_invited(client, organization, owner):
    client.force_login(owner)
    address = long_address(254)
    response = client.post(
        reverse("members:invite", args=[organization.slug]),
        {"emails": address, "role": "member"},
    )
    assert response.status_code == 302
    assert Invitation.objects.get().email == address


@pytest.mark.parametrize(
    "address",
    [
        "nul\x00@example.test",
        '"a\x01b"@example.test',
        "ada@exa\u202emple.test",
        "ada@example.test\x00",
        "\x00",
        "\x7f@example.test",
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_address_with_a_control_character_is_refused_by_itself(
    client, organization, owner, address, htmx
):
    client.force_login(owner)
    response = client.post(
        reverse("members:invite", args=[organization.slug]),
        {"emails": f"{address}, bob@example.test", "role": "viewer"},
        headers=HTMX if htmx else {},
        follow=not htmx,
    )
    assert response.status_code == 200
    said = " ".join(toasts(response)) if htmx else text(response)
    assert "Invited bob@example.test as Viewer." in said
    assert "a control or invisible character" in said
    assert "\x00" not in said
    assert list(Invitation.objects.values_list("email", flat=True)) == ["bob@example.test"]


def test_the_service_refuses_over_long_and_control_addresses_per_address(organization, owner):
    batch = invitations_send(
        organization=organization,
        emails=[long_address(300), "ok@example.test", '"a\x01b"@example.test'],
        role=Role.MEMBER,
        actor=Actor(owner),
        base_url=BASE_URL,
    )
    assert [item.invitation.email for item in batch.issued] == ["ok@example.test"]
    reasons = " ".join(reason for _, reason in batch.refused)
    assert "longer than 254 characters (300)" in reasons
    assert "control or invisible character" in reasons
    assert InvitationEmail.objects.count() == 1


@pytest.mark.parametrize(
    "emails", ["", "\x00", " , ;", "x" * 10_000, "not-an-address", "a@b@c", "\ud7ff@x.test"]
)
def test_unusable_address_lists_are_a_form_error(client, organization, owner, emails):
    client.force_login(owner)
    response = client.post(
        reverse("members:invite", args=[organization.slug]), {"emails": emails, "role": "member"}
    )
    assert response.status_code == 400
    assert "emails: " in text(response)
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("role", ["", "\x00", "owner\n", "x" * 10_000, "ｍｅｍｂｅｒ"])
def test_an_unknown_role_in_an_invite_is_a_form_error(client, organization, owner, role):
    client.force_login(owner)
    response = client.post(
        reverse("members:invite", args=[organization.slug]),
        {"emails": "ada@example.test", "role": role},
    )
    assert response.status_code == 400
    assert not Invitation.objects.exists()


# -- Resend past the daily limit ---------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_resend_past_the_daily_limit_says_try_again_later(client, organization, owner, htmx):
    invitation, _ = invite(organization, owner, "ada@example.test")
    for _ in range(DAILY_LIMIT_PER_ADDRESS - 1):
        invitation_resend(
            organization=organization,
            invitation_id=invitation.pk,
            actor=Actor(owner),
            base_url=BASE_URL,
        )
    client.force_login(owner)
    response = client.post(
        reverse("members:invitation_resend", args=[organization.slug, invitation.pk]),
        headers=HTMX if htmx else {},
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 60
    said = " ".join(toasts(response)) if htmx else text(response)
    assert "ada@example.test was sent 10 invitations" in said
    assert "Try again later" in said
    assert InvitationEmail.objects.count() == DAILY_LIMIT_PER_ADDRESS


# -- Ids and tokens no row can have ------------------------------------------------------------

BAD_IDS = [str(2**63), str(2**63 - 1), str(2**64), "9" * 30, "9" * 10_000, "-1", "0", "%00", "1%00"]
BAD_IDS += ["%ff", "１", "abc", "1.0", "1e3"]


@pytest.mark.parametrize("raw_id", BAD_IDS)
@pytest.mark.parametrize(
    "path",
    [
        "{id}/role/",
        "{id}/remove/",
        "invitations/{id}/resend/",
        "invitations/{id}/revoke/",
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_id_no_row_can_have_is_not_found(client, organization, owner, raw_id, path, htmx):
    invite(organization, owner, "ada@example.test")
    client.force_login(owner)
    response = client.post(
        f"/o/{organization.slug}/settings/members/{path.format(id=raw_id)}",
        {"role": "viewer"},
        headers=HTMX if htmx else {},
    )
    assert response.status_code == 404
    assert Invitation.objects.get().revoked_at is None


@pytest.mark.parametrize("raw_id", [str(2**63), "-1", "%00"])
@pytest.mark.parametrize("path", ["{id}/role/", "invitations/{id}/resend/"])
def test_wrong_method_on_an_id_route_is_refused(client, organization, owner, raw_id, path):
    client.force_login(owner)
    response = client.get(f"/o/{organization.slug}/settings/members/{path.format(id=raw_id)}")
    assert response.status_code in (404, 405)


@pytest.mark.parametrize("role", ["", "\x00", "x" * 10_000, "Owner", "owner\n"])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_role_change_to_no_role_is_refused(client, organization, owner, member, role, htmx):
    membership = Membership.objects.get(user=member)
    client.force_login(owner)
    response = client.post(
        reverse("members:change_role", args=[organization.slug, membership.pk]),
        {"role": role},
        headers=HTMX if htmx else {},
    )
    assert response.status_code == 400
    membership.refresh_from_db()
    assert membership.role == Role.MEMBER


BAD_TOKENS = ["%00", "abc%00def", "a" * 10_000, "a" * 129, "%ff", "ключ", "%C0%AF", "..", "%20"]


@pytest.mark.parametrize("token", BAD_TOKENS)
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_a_token_no_invitation_can_have_is_not_found(client, owner, token, signed_in):
    if signed_in:
        client.force_login(owner)
    detail = client.get(f"/invitations/{token}/")
    assert detail.status_code == 404
    assert "This invitation link is not valid" in text(detail)
    signup = client.get(f"/invitations/{token}/signup/")
    assert signup.status_code == (302 if signed_in else 404)
    signup = client.post(
        f"/invitations/{token}/signup/", {"password": "x" * 20, "display_name": "\x00"}
    )
    assert signup.status_code == (302 if signed_in else 404)
    accept = client.post(f"/invitations/{token}/accept/")
    assert accept.status_code == (404 if signed_in else 302)
    assert client.get(f"/invitations/{token}/accept/").status_code == 405


# -- Query parameters of the members page ------------------------------------------------------

JUNK_QUERIES = [
    "page=99999999999999999999",
    f"page={2**63}",
    "page=-1",
    "page=0",
    "page=%00",
    "page=1e9999999",
    "page=" + "9" * 10_000,
    "role=%00",
    "role=boss",
    "role=" + "x" * 10_000,
    "status=%00",
    "q=%00",
    "q=" + "x" * 10_000,
    "q=%ff%fe",
    "q=%25",
    "q=_",
    "cursor=%00",
    f"invitations_older_than={2**63}",
    f"invitations_older_than={2**64}",
    "invitations_older_than=-1",
    "invitations_older_than=%00",
    "invitations_older_than=" + "9" * 10_000,
]


@pytest.mark.parametrize("query", JUNK_QUERIES)
@pytest.mark.parametrize("target", [None, "members-table", "invitations", "\x00"])
def test_junk_in_the_members_query_still_shows_the_page(client, organization, owner, query, target):
    invite(organization, owner, "ada@example.test")
    client.force_login(owner)
    headers = {} if target is None else {**HTMX, "HX-Target": target}
    response = client.get(
        f"{reverse('members:list', args=[organization.slug])}?{query}", headers=headers
    )
    assert response.status_code == 200


@pytest.mark.parametrize("query", JUNK_QUERIES[-5:])
def test_junk_pending_page_on_a_row_action_keeps_working(client, organization, owner, query):
    invitation, _ = invite(organization, owner, "ada@example.test")
    client.force_login(owner)
    response = client.post(
        reverse("members:invitation_revoke", args=[organization.slug, invitation.pk]) + f"?{query}"
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#invitations")
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


@pytest.mark.parametrize(
    "fields",
    [
        {"display_name": "\x00", "password": "correct horse battery"},
        {"display_name": "x" * 10_000, "password": "correct horse battery"},
        {"display_name": "Ada", "password": "\x00" * 12},
        {"display_name": "Ada", "password": "p" * 10_000},
        {"display_name": "Ada", "password": ""},
        {"display_name": "Ada\n", "password": "correct horse battery", "email": "x@evil.test"},
        {},
    ],
)
def test_signing_up_from_an_invitation_with_odd_fields_is_no_server_error(
    client, organization, owner, fields
):
    _, token = invite(organization, owner, "ada@example.test")
    response = client.post(reverse("invitations:signup", kwargs={"token": token}), fields)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert Invitation.objects.get().email == "ada@example.test"
    assert not Membership.objects.filter(user__email="x@evil.test").exists()
