"""The org row lock every write to an organization takes: fresh from the database, held until
the transaction ends, and taken by config saves."""

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from orgs import selectors, services
from orgs.models import Organization
from prism_site.actor import Actor


def test_the_lock_returns_the_row_as_stored_not_the_callers_copy(organization):
    Organization.objects.filter(pk=organization.pk).update(name="Renamed meanwhile")
    with transaction.atomic():
        locked = selectors.organization_lock(organization)
    assert locked.pk == organization.pk and locked is not organization
    assert locked.name == "Renamed meanwhile" and organization.name == "Acme AI"


def test_config_saves_take_the_org_lock(organization, owner, monkeypatch):
    locked = []

    def recording_lock(org):
        locked.append(org.pk)
        return Organization.objects.select_for_update().get(pk=org.pk)

    monkeypatch.setattr(selectors, "organization_lock", recording_lock)
    services.config_section_update(
        organization=organization,
        actor=Actor(owner),
        base_version=None,
        section="budgets",
        values={"enabled": True, "limit": 100},
    )
    assert locked == [organization.pk]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks (SELECT … FOR UPDATE); SQLite has none"
)
@pytest.mark.django_db(transaction=True)
def test_a_second_writer_waits_until_the_lock_is_released(organization):
    refused = []

    def second_writer():
        try:
            with transaction.atomic():
                Organization.objects.select_for_update(nowait=True).get(pk=organization.pk)
        except DatabaseError as error:
            refused.append(error)
        finally:
            connection.close()

    with transaction.atomic():
        selectors.organization_lock(organization)
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join()
    assert len(refused) == 1

    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join()
    assert len(refused) == 1
