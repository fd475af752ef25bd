"""The audit log page: Owners and Admins, newest first, keyset-paginated."""

from django.urls import reverse

from orgs import audit
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
    older = first.split('href="?before=')[1].split('"')[0]
    second = client.get(
        reverse("orgs:audit", args=[organization.slug]), {"before": older}
    ).content.decode()
    assert "t004" in second and "t000" in second
    # the organization.create event of the fixture is the oldest row
    assert "organization.create" in second
    assert "?before=" not in second


def test_bad_cursor_shows_the_first_page(client, organization, owner):
    client.force_login(owner)
    assert (
        client.get(reverse("orgs:audit", args=[organization.slug]), {"before": "x"}).status_code
        == 200
    )


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
