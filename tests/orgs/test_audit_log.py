"""The audit log page: Owners and Admins, newest first, keyset-paginated."""

from django.urls import reverse

from orgs import audit
from orgs.selectors import AUDIT_PAGE_SIZE


def test_newest_first_and_paginated(client, organization, owner, other_organization):
    for number in range(AUDIT_PAGE_SIZE + 5):
        audit.record(
            organization=organization, actor=owner, action="test.event", target=f"t{number:03}"
        )
    audit.record(
        organization=other_organization, actor=owner, action="test.event", target="elsewhere"
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
