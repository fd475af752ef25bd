"""Concurrent demote/remove/leave of an org's Owners never leaves it without one (PostgreSQL)."""

import random
import threading

import pytest
from django.db import connection

from members.services import membership_change_role, membership_leave, membership_remove
from orgs.models import Membership
from orgs.permissions import organization_permissions
from orgs.roles import Role
from prism_site.actor import Actor
from prism_site.errors import DomainError
from tests.factories import add_member, make_organization, make_user

THREADS = 20
ROUNDS = 5

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks (SELECT … FOR UPDATE) are what this tests; SQLite has none",
)


def _attempt(organization, actor, target_membership_id, action):
    if action == "leave":
        membership_leave(organization=organization, actor=Actor(actor))
    elif action == "remove":
        membership_remove(
            organization=organization, membership_id=target_membership_id, actor=Actor(actor)
        )
    else:
        membership_change_role(
            organization=organization,
            membership_id=target_membership_id,
            role=Role.MEMBER,
            actor=Actor(actor),
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_concurrent_owner_changes_keep_an_owner(round_number):
    rng = random.Random(round_number)
    organization = make_organization(f"Race {round_number}", owner=make_user())
    for _ in range(4):
        add_member(organization, Role.OWNER)
    owners = list(Membership.objects.filter(organization=organization).select_related("user"))

    barrier = threading.Barrier(THREADS)
    refused, unexpected = [], []

    def worker(index):
        actor = owners[index % len(owners)]
        target = rng.choice([m for m in owners if m.pk != actor.pk])
        action = ("leave", "remove", "demote")[index % 3]
        try:
            barrier.wait()
            _attempt(organization, actor.user, target.pk, action)
        except DomainError as refusal:
            refused.append(refusal.message)
        except Exception as error:  # noqa: BLE001 - any other error is the failure we look for
            unexpected.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    remaining = list(Membership.objects.filter(organization=organization, role=Role.OWNER))
    assert len(remaining) >= 1
    assert refused, "with 20 racing changes on 5 owners some must be refused"
    # Permissions follow the surviving rows exactly.
    for membership in Membership.objects.filter(organization=organization).select_related("user"):
        assert ("manage_owners" in organization_permissions(membership.user, organization)) == (
            membership.role == Role.OWNER
        )
