"""Settings > Members and the invitation pages never answer bad input with a server error:
addresses the columns cannot hold, ids and tokens no row can have, junk query parameters, and
a daily limit reached from a plain form (run these on PostgreSQL too: it refuses what SQLite
stores)."""

import json

import pytest
from django.urls import reverse

from members.models import Invitation, InvitationEmail
from members.services import DAILY_LIMIT_PER_ADDRESS, invitation_resend, invitations_send
from orgs.roles import Role
from tests.members.helpers import BASE_URL, invite

HTMX = {"HX-Request": "true"}


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
        inviter=owner,
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
            organization=organization, invitation_id=invitation.pk, actor=owner, base_url=BASE_URL
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
