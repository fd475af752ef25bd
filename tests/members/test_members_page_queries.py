"""The members page runs a fixed number of queries, with 1,000 members and 100 invitations."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import User
from members.selectors import MEMBERS_ORDER
from orgs.models import Membership, RoleGroup, membership_sort_key
from orgs.roles import Role
from tests.factories import make_organization, make_user
from tests.members.helpers import invite

# Marks the module as using the database, so the test database exists for the shared org.
pytestmark = pytest.mark.django_db

# session, user, membership + org, permissions, member count, member page, open invitations
# (and their count past one page), switcher memberships, the budget banner. (The filtered view
# adds the org's total count.)
MEMBERS_PAGE_QUERIES = 9


def add_many_members(organization, count: int, prefix: str = "bulk") -> None:
    """Bulk rows equal to what membership_add writes (membership with its sort key, role group),
    for speed; users are named `{prefix}0000@example.test`, "{Prefix} 0000" and on."""
    roles = [Role.ADMIN, Role.MEMBER, Role.VIEWER]
    users = User.objects.bulk_create(
        [
            User(
                email=f"{prefix}{n:04}@example.test",
                display_name=f"{prefix.title()} {n:04}",
                password="!",
            )
            for n in range(count)
        ]
    )
    Membership.objects.bulk_create(
        [
            Membership(
                user=user,
                organization=organization,
                role=roles[n % 3],
                sort_key=membership_sort_key(roles[n % 3], user.email),
            )
            for n, user in enumerate(users)
        ]
    )
    groups = dict(
        RoleGroup.objects.filter(organization=organization).values_list("role", "group_id")
    )
    User.groups.through.objects.bulk_create(
        [
            User.groups.through(user_id=user.pk, group_id=groups[roles[n % 3]])
            for n, user in enumerate(users)
        ]
    )


@pytest.fixture(scope="module")
def big_org(django_db_setup, django_db_blocker):
    """1,000 members and 100 invitations, built once for the module and rolled back after its
    last test; each test runs in a savepoint of its own (the django_db mark), so every test sees
    the organization exactly as built. Its addresses differ from the shared fixtures' so that
    the tests using those can run while it exists."""
    with django_db_blocker.unblock(), transaction.atomic():
        owner = make_user("big-owner@example.test", display_name="Bea Big")
        organization = make_organization("Big Co", owner=owner)
        add_many_members(organization, 999)
        for n in range(100):
            invite(organization, owner, f"invitee{n:03}@example.test")
        yield organization, owner
        transaction.set_rollback(True)


def cursor_at(organization, index: int, **filters) -> str:
    """The cursor of the page that starts at this position of the list (0: the first row)."""
    row = Membership.objects.filter(organization=organization, **filters).order_by(
        *MEMBERS_ORDER.ordering
    )[index - 1]
    return MEMBERS_ORDER.cursor_after(row)


@pytest.mark.parametrize(
    "page",
    ["first page", "page 7", "search", "filter, page 3"],
)
def test_members_page_queries_are_constant(client, big_org, django_assert_max_num_queries, page):
    thousand_members, owner = big_org
    assert Membership.objects.filter(organization=thousand_members).count() == 1000
    query = {
        "first page": "",
        "page 7": f"?cursor={cursor_at(thousand_members, 300)}",
        "search": "?q=bulk05&role=viewer",
        "filter, page 3": f"?role=admin&cursor={cursor_at(thousand_members, 100, role='admin')}",
    }[page]
    client.force_login(owner)
    url = reverse("members:list", args=[thousand_members.slug])
    client.get(url)  # marks the member as seen and stores the last org
    with django_assert_max_num_queries(
        MEMBERS_PAGE_QUERIES + (1 if "q=" in query or "role=" in query else 0)
    ) as queries:
        response = client.get(url + query)
    assert response.status_code == 200
    page = response.content.decode()
    assert 0 < page.count('<tr id="member-') <= 50
    assert page.count('<tr id="invitation-') == 100
    # A search is read once (not again to count its matches), and nothing sorts the whole org.
    sql = [query["sql"] for query in queries.captured_queries]
    assert sum("LIKE" in statement for statement in sql) == (1 if "q=" in query else 0)
    assert not any("CASE" in statement or "OFFSET" in statement for statement in sql)


def test_query_count_does_not_grow_with_members(client, organization, owner):
    client.force_login(owner)
    url = reverse("members:list", args=[organization.slug])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    add_many_members(organization, 999, prefix="more")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few) == len(many)
