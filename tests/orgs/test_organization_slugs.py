"""Organizations of the same name created at the same moment each get their own slug, no error."""

import threading

import pytest
from django.db import connection

from orgs import services
from orgs.models import Membership, Organization
from orgs.roles import Role
from prism_site.actor import Actor
from tests.factories import make_user


def test_a_slug_taken_between_the_check_and_the_insert_moves_on_to_the_next_suffix(
    owner, monkeypatch
):
    real_unique_slug = services.unique_slug
    offered = []

    def slug_taken_meanwhile(name, **kwargs):
        slug = real_unique_slug(name, **kwargs)
        if not offered:
            # Another request creates an org of the same name after this one's check.
            Organization.objects.create(name=name, slug=slug)
        offered.append(slug)
        return slug

    monkeypatch.setattr(services, "unique_slug", slug_taken_meanwhile)
    organization = services.organization_create(name="Acme AI", actor=Actor(owner))

    assert offered == ["acme-ai", "acme-ai-2"]
    assert organization.slug == "acme-ai-2"
    assert Organization.objects.filter(name="Acme AI").count() == 2
    assert Membership.objects.get(organization=organization).role == Role.OWNER


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent transactions: SQLite runs one writer at a time",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_name_all_succeed_with_distinct_slugs(monkeypatch):
    threads_count = 4
    creators = [make_user() for _ in range(threads_count)]
    real_unique_slug = services.unique_slug
    # Every request checks the slug before any inserts: the race the savepoint retry is for.
    barrier = threading.Barrier(threads_count)
    first_check = threading.local()

    def checked_together(name, **kwargs):
        slug = real_unique_slug(name, **kwargs)
        if not getattr(first_check, "done", False):
            first_check.done = True
            barrier.wait(timeout=30)
        return slug

    monkeypatch.setattr(services, "unique_slug", checked_together)
    created, unexpected = [], []

    def worker(creator):
        try:
            created.append(services.organization_create(name="Race Org", actor=Actor(creator)).slug)
        except Exception as error:  # noqa: BLE001 - reported below
            unexpected.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(creator,)) for creator in creators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    assert sorted(created) == ["race-org", "race-org-2", "race-org-3", "race-org-4"]
