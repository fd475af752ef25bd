"""Invitations under concurrency (PostgreSQL): one membership per invitation, one open
invitation per address, limits that hold, and accept-versus-revoke with one winner."""

import threading

import pytest
from django.db import connection

from members.errors import InvitationUnusable
from members.models import Invitation, InvitationEmail
from members.services import invitation_accept, invitation_revoke, invitations_send
from orgs.models import Membership
from orgs.roles import Role
from prism_site.actor import Actor
from prism_site.errors import DomainError, RateLimited
from tests.factories import add_member, make_organization, make_user
from tests.members.helpers import BASE_URL, invite

THREADS = 8

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks (SELECT … FOR UPDATE) are what this tests; SQLite has none",
    ),
]


def race(count: int, attempt) -> tuple[list, list, list]:
    """Run attempt(index) in `count` threads released together; (results, refusals, errors)."""
    barrier = threading.Barrier(count)
    results, refusals, errors = [], [], []

    def worker(index):
        try:
            barrier.wait()
            results.append(attempt(index))
        except DomainError as refusal:
            refusals.append(refusal)
        except Exception as error:  # noqa: BLE001 - anything else is the failure we look for
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, refusals, errors


@pytest.mark.parametrize("round_number", range(3))
def test_concurrent_accepts_create_one_membership(round_number):
    organization = make_organization(f"Race {round_number}", owner=(owner := make_user()))
    _, token = invite(organization, owner, "ada@example.test", Role.MEMBER)
    ada = make_user("ada@example.test")

    results, refusals, errors = race(
        THREADS, lambda _: invitation_accept(token=token, actor=Actor(ada))
    )

    assert errors == []
    assert len(results) == 1
    assert len(refusals) == THREADS - 1
    assert {r.reason for r in refusals} == {InvitationUnusable.ACCEPTED}
    assert Membership.objects.filter(organization=organization, user=ada).count() == 1
    assert Invitation.objects.get().accepted_by == ada


@pytest.mark.parametrize("round_number", range(3))
def test_concurrent_identical_invites_leave_one_open_invitation(round_number):
    organization = make_organization(f"Race {round_number}", owner=(owner := make_user()))
    inviters = [owner] + [add_member(organization, Role.ADMIN) for _ in range(3)]

    results, refusals, errors = race(
        THREADS,
        lambda i: invitations_send(
            organization=organization,
            emails=["Ada@Example.test"],
            role=Role.VIEWER,
            actor=Actor(inviters[i % len(inviters)]),
            base_url=BASE_URL,
        ),
    )

    assert (errors, refusals) == ([], [])
    assert len(results) == THREADS
    assert Invitation.objects.filter(organization=organization).count() == 1
    assert sum(1 for r in results if not r.issued[0].refreshed) == 1
    assert InvitationEmail.objects.filter(organization=organization).count() == THREADS


def test_concurrent_invites_never_pass_the_org_limit():
    organization = make_organization("Busy", owner=(owner := make_user()))
    invitations_send(
        organization=organization,
        emails=[f"early{n}@example.test" for n in range(50)],
        role=Role.VIEWER,
        actor=Actor(owner),
        base_url=BASE_URL,
    )
    admin = add_member(organization, Role.ADMIN)
    invitations_send(
        organization=organization,
        emails=[f"later{n}@example.test" for n in range(45)],
        role=Role.VIEWER,
        actor=Actor(admin),
        base_url=BASE_URL,
    )
    inviters = [owner, admin]

    results, refusals, errors = race(
        10,
        lambda i: invitations_send(
            organization=organization,
            emails=[f"racer{i}@example.test"],
            role=Role.VIEWER,
            actor=Actor(inviters[i % 2]),
            base_url=BASE_URL,
        ),
    )

    assert errors == []
    assert (len(results), len(refusals)) == (5, 5)
    assert all(isinstance(r, RateLimited) for r in refusals)
    assert InvitationEmail.objects.filter(organization=organization).count() == 100


@pytest.mark.parametrize("round_number", range(5))
def test_accept_racing_revoke_has_one_winner(round_number):
    organization = make_organization(f"Race {round_number}", owner=(owner := make_user()))
    invitation, token = invite(organization, owner, "ada@example.test", Role.MEMBER)
    ada = make_user("ada@example.test")

    def attempt(index):
        if index % 2:
            return invitation_revoke(
                organization=organization, invitation_id=invitation.pk, actor=Actor(owner)
            )
        return invitation_accept(token=token, actor=Actor(ada))

    results, refusals, errors = race(2, attempt)

    assert errors == []
    assert (len(results), len(refusals)) == (1, 1)
    invitation.refresh_from_db()
    joined = Membership.objects.filter(organization=organization, user=ada).exists()
    assert joined == (invitation.accepted_at is not None)
    assert joined != (invitation.revoked_at is not None)
