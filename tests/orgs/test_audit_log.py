"""The audit log page: Owners and Admins, newest first, keyset-paginated."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from orgs import audit
from orgs.models import AuditEvent
from orgs.selectors import AUDIT_PAGE_SIZE
from prism_site.actor import Actor


def test_newest_first_and_paginated(client, organization, owner, other_organization):
    for number in range(AUDIT_PAGE_SIZE + 5):
        audit.record(
            organization=organization,
            actor=Actor(owner),
            action="test.event",
            target=f"t{number:03}",
        )
    audit.record(
        organization=other_organization, actor=Actor(owner), action="test.event", target="elsewhere"
    )
    client.force_login(owner)
    first = client.get(reverse("orgs:audit", args=[organization.slug])).content.decode()
    assert first.index(f"t{AUDIT_PAGE_SIZE + 4:03}") < first.index(f"t{AUDIT_PAGE_SIZE:03}")
    assert "t004" not in first and "elsewhere" not in first
    older = first.split('href="?cursor=')[1].split('"')[0]
    second = client.get(
        reverse("orgs:audit", args=[organization.slug]), {"cursor": older}
    ).content.decode()
    assert "t004" in second and "t000" in second
    # the organization.create event of the fixture is the oldest row
    assert "organization.create" in second
    assert "Older" not in second and ">Newest</a>" in second and "← Newer</a>" in second


def test_events_of_one_moment_are_neither_skipped_nor_repeated(client, organization, owner):
    """Events written in one transaction can share a time: the id orders them within it."""
    moment = timezone.now()
    for number in range(AUDIT_PAGE_SIZE * 2):
        audit.record(
            organization=organization, actor=Actor(owner), action="test.tie", target=f"t{number:03}"
        )
    AuditEvent.objects.filter(action="test.tie").update(created_at=moment)
    client.force_login(owner)
    url = reverse("orgs:audit", args=[organization.slug])
    seen, query = [], ""
    while True:
        page = client.get(url + query).content.decode()
        seen += re.findall(r">(t\d{3})</td>", page)
        found = re.search(r'href="(\?cursor=[^"]+)"[^>]*>Older', page)
        if found is None:
            break
        query = found[1]
    assert seen == [f"t{number:03}" for number in reversed(range(AUDIT_PAGE_SIZE * 2))]


@pytest.mark.parametrize("cursor", ["x", "%00", "1~2", "9" * 1000])
def test_bad_cursor_shows_the_first_page(client, organization, owner, cursor):
    client.force_login(owner)
    response = client.get(reverse("orgs:audit", args=[organization.slug]), {"cursor": cursor})
    assert response.status_code == 200
    assert "That page link is out of date or was changed" in response.content.decode()


def test_an_entry_records_who_acted_from_where_and_through_which_key(client, organization, owner):
    actor = Actor(owner, ip_address="203.0.113.5", api_key_id="key_automation01")
    entry = audit.record(organization=organization, actor=actor, action="test.event", target="t")
    entry.refresh_from_db()
    assert (entry.actor, entry.actor_email, entry.ip_address, entry.api_key_id) == (
        owner,
        owner.email,
        "203.0.113.5",
        "key_automation01",
    )
    client.force_login(owner)
    page = client.get(reverse("orgs:audit", args=[organization.slug])).content.decode()
    assert "via <code>key_automation01</code>" in page


def test_a_dashboard_action_records_the_client_address_and_no_key(client, organization, owner):
    client.force_login(owner)
    client.post(
        reverse("orgs:rename", args=[organization.slug]),
        {"name": "Renamed"},
        REMOTE_ADDR="198.51.100.23",
    )
    entry = organization.audit_events.filter(action="organization.rename").get()
    assert (entry.actor, entry.ip_address, entry.api_key_id) == (owner, "198.51.100.23", "")
