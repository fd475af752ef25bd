"""Daily invitation limits: 100 per inviter, 100 per org, 10 per address per org."""

from datetime import timedelta

import pytest
from django.utils import timezone

from members.models import Invitation, InvitationEmail
from members.services import (
    DAILY_LIMIT_PER_ADDRESS,
    DAILY_LIMIT_PER_INVITER,
    DAILY_LIMIT_PER_ORGANIZATION,
    invitation_resend,
    invitations_send,
)
from orgs.roles import Role
from prism_site.actor import Actor
from prism_site.errors import RateLimited
from tests.factories import add_member, make_organization
from tests.members.helpers import BASE_URL, invite


def send(organization, inviter, emails):
    return invitations_send(
        organization=organization,
        emails=emails,
        role=Role.VIEWER,
        actor=Actor(inviter),
        base_url=BASE_URL,
    )


def addresses(prefix, count):
    return [f"{prefix}{n}@example.test" for n in range(count)]


def test_the_limits_are_the_issues_figures():
    assert (DAILY_LIMIT_PER_INVITER, DAILY_LIMIT_PER_ORGANIZATION, DAILY_LIMIT_PER_ADDRESS) == (
        100,
        100,
        10,
    )


def test_an_org_sends_at_most_100_a_day(organization, owner, admin):
    send(organization, owner, addresses("a", 50))
    send(organization, admin, addresses("b", 50))
    with pytest.raises(match="Try again later") as refused:
        send(organization, owner, ["one-more@example.test"])
    assert "Acme AI can send 100 invitations a day" in refused.value.message
    # The oldest of the counted emails ages out in about a day.
    assert 23 * 3600 < refused.value.retry_after_seconds <= 24 * 3600 + 1
    assert Invitation.objects.count() == 100


def test_a_refused_batch_sends_none_of_its_addresses(organization, owner):
    send(organization, owner, addresses("a", 50))
    send(organization, owner, addresses("b", 40))
    with pytest.raises(RateLimited):
        send(organization, owner, addresses("c", 11))
    assert Invitation.objects.count() == 90
    send(organization, owner, addresses("c", 10))
    assert Invitation.objects.count() == 100


def test_an_inviter_sends_at_most_100_a_day_across_orgs(organization, owner):
    second = make_organization("Second", owner=owner)
    send(organization, owner, addresses("a", 50))
    send(second, owner, addresses("b", 50))
    with pytest.raises(match="you can send 100 invitations a day"):
        send(second, owner, ["one-more@example.test"])
    # Someone else in the same org is not held back by the busy inviter's count.
    colleague = add_member(second, Role.ADMIN)
    send(second, colleague, ["colleague-invite@example.test"])


def test_one_address_gets_at_most_10_a_day_from_an_org(organization, owner, admin):
    invitation, _ = invite(organization, owner, "ada@example.test")
    for _ in range(DAILY_LIMIT_PER_ADDRESS - 2):
        invitation_resend(
            organization=organization,
            invitation_id=invitation.pk,
            actor=Actor(owner),
            base_url=BASE_URL,
        )
    invite(organization, admin, "ada@example.test")  # the 10th, as a refresh
    with pytest.raises(match="ada@example.test was sent 10"):
        invitation_resend(
            organization=organization,
            invitation_id=invitation.pk,
            actor=Actor(admin),
            base_url=BASE_URL,
        )
    with pytest.raises(RateLimited):
        send(organization, admin, ["bob@example.test", "ada@example.test"])
    send(organization, admin, ["bob@example.test"])


def test_other_orgs_may_still_invite_the_same_address(
    organization, owner, outsider, other_organization
):
    for _ in range(DAILY_LIMIT_PER_ADDRESS):
        invite(organization, owner, "ada@example.test")
    invite(other_organization, outsider, "ada@example.test")


def test_the_window_is_the_last_24_hours(organization, owner):
    send(organization, owner, addresses("a", 50))
    send(organization, owner, addresses("b", 50))
    InvitationEmail.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    send(organization, owner, addresses("c", 50))
