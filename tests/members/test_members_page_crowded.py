"""Settings > Members with 125 people: pages, page links, search and role filters. The crowd
is built once for the module and each case runs in a savepoint of its own (adding 121 people
through the membership service took longer than every case of the module together)."""

import re

import pytest
from django.db import transaction
from django.urls import reverse

from members.models import User
from orgs import audit
from orgs.models import Membership, Organization
from orgs.roles import Role
from orgs.selectors import AUDIT_PAGE_SIZE
from prism_site.actor import Actor
from tests.factories import add_member, make_organization, make_user
from tests.members.test_members_page import HTMX, page_of, role_url

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def crowd(django_db_setup, django_db_blocker) -> dict[str, int]:
    """The tests/conftest.py organization, a user per role and the outsider, plus 121 people:
    125 members, 3 pages. Ids only; the fixtures below load fresh copies."""
    with django_db_blocker.unblock(), transaction.atomic():
        owner = make_user("owner@example.test", display_name="Olivia Owner")
        organization = make_organization("Acme AI", owner=owner)
        add_member(
            organization, Role.ADMIN, make_user("admin@example.test", display_name="Adam Admin")
        )
        add_member(
            organization, Role.MEMBER, make_user("member@example.test", display_name="Mia Member")
        )
        viewer = add_member(
            organization, Role.VIEWER, make_user("viewer@example.test", display_name="Vic Viewer")
        )
        other = make_organization("Other Corp", owner=make_user("other-owner@example.test"))
        add_member(other, Role.OWNER, make_user("outsider@example.test"))
        for n in range(120):
            role = (Role.MEMBER, Role.VIEWER, Role.ADMIN)[n % 3]
            add_member(
                organization,
                role,
                make_user(f"person{n:03}@example.test", display_name=f"P {n:03}"),
            )
        add_member(
            organization, Role.VIEWER, make_user("grace@example.test", display_name="Grace Hopper")
        )
        yield {"organization": organization.pk, "owner": owner.pk, "viewer": viewer.pk}
        transaction.set_rollback(True)


@pytest.fixture
def crowded_organization(crowd) -> Organization:
    return Organization.objects.get(pk=crowd["organization"])


@pytest.fixture
def owner(crowd) -> User:
    return User.objects.get(pk=crowd["owner"])


@pytest.fixture
def viewer(crowd) -> User:
    return User.objects.get(pk=crowd["viewer"])


def link(page: str, words: str) -> str | None:
    """The query of the pager link with these words, or None when the page has none."""
    found = re.search(rf'<a href="(\?[^"#]*)[^"]*"[^>]*>{re.escape(words)}</a>', page)
    return found[1].replace("&amp;", "&") if found else None


def member_emails(page: str) -> list[str]:
    return re.findall(r'<tr id="member-\d+">\s*<td[^>]*>.*?</td>\s*<td[^>]*>([^<]+)</td>', page)


def test_members_are_paginated(client, crowded_organization, owner):
    client.force_login(owner)
    first = page_of(client, crowded_organization)
    assert first.count('<tr id="member-') == 50
    assert 'id="member-count">125<' in first
    # Owners come first, then Admins, Members and Viewers, by email within a role.
    assert first.index("owner@example.test") < first.index("admin@example.test")
    assert link(first, "← Previous") is None
    second = page_of(client, crowded_organization, link(first, "Next →"))
    last = page_of(client, crowded_organization, link(second, "Next →"))
    assert last.count('<tr id="member-') == 25
    assert link(last, "Next →") is None
    walked = member_emails(first) + member_emails(second) + member_emails(last)
    expected = [
        membership.user.email
        for membership in Membership.objects.filter(organization=crowded_organization)
        .select_related("user")
        .order_by("sort_key", "id")
    ]
    assert walked == expected and len(set(walked)) == 125
    roles = {Role.OWNER: 0, Role.ADMIN: 1, Role.MEMBER: 2, Role.VIEWER: 3}
    ranks = [
        roles[role]
        for role in Membership.objects.filter(organization=crowded_organization)
        .order_by("sort_key", "id")
        .values_list("role", flat=True)
    ]
    assert ranks == sorted(ranks)
    # Previous goes back to exactly the page before.
    back = page_of(client, crowded_organization, link(last, "← Previous"))
    assert member_emails(back) == member_emails(second)
    assert member_emails(page_of(client, crowded_organization, link(back, "← Previous"))) == (
        member_emails(first)
    )


@pytest.mark.parametrize("cursor", ["abc", "-4", "%00", "x" * 5000])
def test_an_unusable_page_link_starts_again_and_says_so(
    client, crowded_organization, owner, cursor
):
    client.force_login(owner)
    first = page_of(client, crowded_organization)
    page = page_of(client, crowded_organization, f"?cursor={cursor}")
    assert member_emails(page) == member_emails(first)
    assert "That page link is out of date or was changed" in page


def test_a_page_link_of_another_list_is_refused(client, crowded_organization, owner):
    """Cursors are signed per list: the audit log's cannot steer the member list."""
    for number in range(AUDIT_PAGE_SIZE):
        audit.record(organization=crowded_organization, actor=Actor(owner), action=f"test.{number}")
    client.force_login(owner)
    log = client.get(reverse("orgs:audit", args=[crowded_organization.slug])).content.decode()
    older = link(log, "Older →")
    assert older is not None
    page = page_of(client, crowded_organization, older)
    assert "That page link is out of date or was changed" in page


def test_a_role_change_moves_the_member_in_the_list(client, crowded_organization, owner):
    client.force_login(owner)
    grace = Membership.objects.get(user__email="grace@example.test")
    assert grace.sort_key == "4:grace@example.test"
    client.post(role_url(crowded_organization, grace.user), {"role": "admin"})
    grace.refresh_from_db()
    assert grace.sort_key == "2:grace@example.test"
    first = member_emails(page_of(client, crowded_organization))
    assert first.index("grace@example.test") < first.index("person000@example.test")


def test_search_by_name_or_email_and_filter_by_role(client, crowded_organization, viewer):
    client.force_login(viewer)
    by_name = page_of(client, crowded_organization, "?q=hopper")
    assert by_name.count('<tr id="member-') == 1 and "grace@example.test" in by_name
    assert "1 member matches" in by_name
    by_email = page_of(client, crowded_organization, "?q=PERSON11")
    assert by_email.count('<tr id="member-') == 10  # person110 … person119
    assert "10 members match" in by_email
    admins = page_of(client, crowded_organization, "?role=admin")
    assert admins.count('<tr id="member-') == 41  # 40 people + Adam Admin
    assert "41 members match" in admins
    # Past one page a search says "more" rather than run again to count.
    people = page_of(client, crowded_organization, "?q=person")
    assert people.count('<tr id="member-') == 50 and "More than 50 members match" in people
    rest = page_of(client, crowded_organization, link(people, "Next →"))
    assert rest.count('<tr id="member-') == 50 and "q=person" in link(rest, "Next →")
    viewers = page_of(client, crowded_organization, "?role=viewer&q=person")
    assert set(member_emails(viewers)) == {f"person{n:03}@example.test" for n in range(1, 120, 3)}
    assert "No member matches these filters." in page_of(client, crowded_organization, "?q=zzz")


def test_htmx_filter_returns_only_the_table(client, crowded_organization, viewer):
    client.force_login(viewer)
    response = client.get(
        reverse("members:list", args=[crowded_organization.slug]) + "?q=grace",
        headers={**HTMX, "HX-Target": "members-table"},
    )
    body = response.content.decode()
    assert body.strip().startswith('<div id="members-table">')
    assert "<html" not in body and "grace@example.test" in body
