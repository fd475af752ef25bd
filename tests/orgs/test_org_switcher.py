"""The org switcher shows the few orgs seen last (the current one always) and links to the full,
paged list: a page costs the same whether its user belongs to one org or to hundreds."""

import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.models import User
from orgs.context_processors import SWITCHER_RECENT
from orgs.models import Membership, Organization
from orgs.roles import Role
from tests.factories import add_member, make_organization, make_user

pytestmark = pytest.mark.django_db

MANY = 60
SWITCHER = re.compile(r'<nav class="menu-items" aria-label="Your organizations">(.*?)</nav>', re.S)


@pytest.fixture(scope="module")
def people(django_db_setup, django_db_blocker) -> dict[str, int]:
    """One user in a single org and one in MANY orgs (names of equal length), built once."""
    with django_db_blocker.unblock(), transaction.atomic():
        single = make_user("single@example.test")
        make_organization("Org 000", owner=single)
        busy = make_user("busy@example.test")
        for number in range(MANY):
            organization = make_organization(f"Org {number:03}", owner=make_user())
            add_member(organization, Role.MEMBER, busy)
        yield {"single": single.pk, "busy": busy.pk}
        transaction.set_rollback(True)


def org_slug(user: User, name: str) -> str:
    return Organization.objects.get(memberships__user=user, name=name).slug


def switcher_links(html: str) -> list[str]:
    return re.findall(r"<a [^>]*>\s*([^<]+?)\s*(?:<small|</a>)", SWITCHER.search(html).group(1))


def overview(client, user: User, name: str):
    """The overview of `name` as `user`, after one visit (which records it as seen)."""
    url = reverse("orgs:overview", args=[org_slug(user, name)])
    client.force_login(user)
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(queries.captured_queries)


def test_an_org_page_costs_the_same_for_a_user_in_one_org_or_in_many(client, people):
    single_html, single_queries = overview(client, User.objects.get(pk=people["single"]), "Org 000")
    busy_html, busy_queries = overview(client, User.objects.get(pk=people["busy"]), "Org 000")

    assert busy_queries == single_queries
    assert len(switcher_links(busy_html)) <= SWITCHER_RECENT + 2  # + All, + New organization
    # The busy user's page grows only by the few recent orgs, not by MANY of them.
    assert len(busy_html) - len(single_html) < 200 * SWITCHER_RECENT


def test_the_switcher_lists_the_orgs_seen_last_most_recent_first(client, people):
    busy = User.objects.get(pk=people["busy"])
    now = timezone.now()
    seen = {f"Org {n:03}": now - timedelta(hours=n) for n in (40, 7, 12, 3, 55, 21, 30, 9)}
    for name, when in seen.items():
        Membership.objects.filter(user=busy, organization__name=name).update(last_seen_at=when)

    html, _ = overview(client, busy, "Org 003")

    recent = sorted(seen, key=seen.get, reverse=True)[:SWITCHER_RECENT]
    assert switcher_links(html) == [*recent, "All organizations", "+ New organization"]
    assert f'href="{reverse("org_list")}"' in SWITCHER.search(html).group(1)


def test_the_current_org_is_in_the_switcher_even_when_not_among_the_recent(client, people):
    busy = User.objects.get(pk=people["busy"])
    now = timezone.now()
    Membership.objects.filter(user=busy).update(last_seen_at=now)
    # Seen two minutes ago: recent enough that visiting it does not record a new visit.
    Membership.objects.filter(user=busy, organization__name="Org 042").update(
        last_seen_at=now - timedelta(minutes=2)
    )

    html, _ = overview(client, busy, "Org 042")

    links = switcher_links(html)
    assert links[0] == "Org 042"
    assert len(links) == SWITCHER_RECENT + 2
    assert 'aria-current="page"' in SWITCHER.search(html).group(1)


def test_the_organizations_page_lists_every_org_a_page_at_a_time(client, people):
    client.force_login(User.objects.get(pk=people["busy"]))
    url = reverse("org_list")

    first = client.get(url).content.decode()
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(next_link).content.decode()

    names = re.findall(r">(Org \d{3})</a>", first) + re.findall(r">(Org \d{3})</a>", second)
    assert names == [f"Org {n:03}" for n in range(MANY)]
    assert 'rel="next"' not in second and 'rel="prev"' in second


def test_the_organizations_page_finds_an_org_by_name(client, people):
    client.force_login(User.objects.get(pk=people["busy"]))

    found = client.get(reverse("org_list"), {"q": "org 04"}).content.decode()
    nothing = client.get(reverse("org_list"), {"q": "Nebula"}).content.decode()

    assert re.findall(r">(Org \d{3})</a>", found) == [f"Org {n:03}" for n in range(40, 50)]
    assert "None of your organizations is named like “Nebula”" in nothing


def test_a_user_in_one_org_sees_neither_search_nor_pages(client, people):
    client.force_login(User.objects.get(pk=people["single"]))
    html = client.get(reverse("org_list")).content.decode()
    assert re.findall(r">(Org \d{3})</a>", html) == ["Org 000"]
    assert 'role="search"' not in html and "Organization pages" not in html
