"""Editors saving from the same version at the same moment: one wins, the rest get a conflict,
and the version numbers stay gapless (PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection

from orgs import selectors, services
from orgs.errors import ConfigConflict
from orgs.models import ConfigVersion
from orgs.roles import Role
from prism_site.actor import Actor
from tests.factories import add_member, make_organization, make_user

THREADS = 12

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks (SELECT … FOR UPDATE) are what this tests; SQLite has none",
)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_number", range(3))
def test_concurrent_saves_from_one_version_let_exactly_one_through(round_number):
    organization = make_organization(f"Race {round_number}", owner=make_user())
    editors = [add_member(organization, Role.ADMIN) for _ in range(THREADS)]
    base = selectors.config_current(organization).number
    barrier = threading.Barrier(THREADS)
    saved, conflicts, unexpected = [], [], []

    def worker(index):
        try:
            barrier.wait()
            version = services.config_section_update(
                organization=organization,
                actor=Actor(editors[index]),
                base_version=base,
                section="budgets",
                values={"enabled": True, "limit": 100 + index},
            )
            saved.append(version.number)
        except ConfigConflict as conflict:
            conflicts.append(conflict)
        except Exception as error:  # noqa: BLE001 - reported below
            unexpected.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    assert saved == [base + 1]
    assert len(conflicts) == THREADS - 1
    # Each loser is told about the winner's version and what it changed.
    unclear = [c.message for c in conflicts if c.current_version != base + 1 or not c.changes]
    assert unclear == []
    numbers = list(
        ConfigVersion.objects.filter(organization=organization)
        .order_by("number")
        .values_list("number", flat=True)
    )
    assert numbers == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_without_a_base_version_queue_up_as_consecutive_versions():
    organization = make_organization("Queue", owner=make_user())
    editors = [add_member(organization, Role.ADMIN) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    unexpected = []

    def worker(index):
        try:
            barrier.wait()
            services.config_patch(
                organization=organization,
                actor=Actor(editors[index]),
                base_version=None,
                patch={"rate_limiting": {"rpm": 1000 + index}},
            )
        except Exception as error:  # noqa: BLE001 - reported below
            unexpected.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    numbers = list(
        ConfigVersion.objects.filter(organization=organization)
        .order_by("number")
        .values_list("number", flat=True)
    )
    assert numbers == list(range(1, THREADS + 2))
    assert selectors.config_current(organization).number == THREADS + 1
