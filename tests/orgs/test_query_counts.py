"""A user in 50 orgs: the overview page and the switcher run a fixed number of queries."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orgs.context_processors import SWITCHER_RECENT
from orgs.roles import Role
from tests.factories import add_member, make_organization

# session, user, membership + org, permissions, member count, switcher (memberships + orgs),
# the budget banner; then the dashboard's four: the config with the set-up checklist (one row of
# EXISTS tests), today's hourly rollups by model, the budget period's spend from the key-day
# rollups, and the latest errors (five log rows). None grows with traffic (tests/usage/
# test_overview.py compares 10 and 500 rows).
OVERVIEW_QUERIES = 11


def test_overview_and_switcher_queries_do_not_grow_with_orgs(
    client, owner, django_assert_max_num_queries
):
    organizations = [make_organization(f"Org {n:02}", owner=owner) for n in range(25)]
    for n in range(25):
        add_member(make_organization(f"Joined {n:02}"), Role.VIEWER, owner)
    client.force_login(owner)
    url = reverse("orgs:overview", args=[organizations[0].slug])
    client.get(url)  # the first visit stores the last org in the session
    with django_assert_max_num_queries(OVERVIEW_QUERIES):
        page = client.get(url).content.decode()
    # The switcher shows the recent few and links to the rest, instead of all 50.
    overview_links = set(re.findall(r'href="(/o/[^/"]+/)"', page))
    assert organizations[0].get_absolute_url() in overview_links
    assert len(overview_links) <= SWITCHER_RECENT
    assert f'href="{reverse("org_list")}"' in page


def test_query_count_is_the_same_with_one_org(client, owner):
    organization = make_organization("Only", owner=owner)
    client.force_login(owner)
    url = reverse("orgs:overview", args=[organization.slug])
    client.get(url)
    with CaptureQueriesContext(connection) as one_org:
        client.get(url)
    for n in range(49):
        make_organization(f"More {n}", owner=owner)
    with CaptureQueriesContext(connection) as fifty_orgs:
        client.get(url)
    assert len(one_org) == len(fifty_orgs)
