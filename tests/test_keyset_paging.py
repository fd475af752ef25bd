"""The one keyset page helper every list uses: pages walk each row once in both directions,
ties in the first field are ordered by the id, and a cursor it did not write starts again."""

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone

from orgs.models import AuditEvent, Membership, membership_sort_key
from orgs.roles import Role
from prism_site.paging import Keyset, count_up_to
from tests.factories import add_member, make_user

NEWEST_FIRST = Keyset("test-events", ("-created_at", "-id"))
SIZE = 7


@pytest.fixture
def events(organization, other_organization):
    """40 events of the org, three at a time sharing a time, among other orgs' events."""
    start = timezone.now() - timedelta(days=1)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                organization=other_organization if number % 5 == 0 else organization,
                action="test.event",
                target=f"e{number:03}",
                created_at=start + timedelta(minutes=number // 3),
            )
            for number in range(50)
        ]
    )
    return AuditEvent.objects.filter(organization=organization, action="test.event")


def walk(queryset, keyset: Keyset) -> list:
    pages, cursor = [], None
    while True:
        page = keyset.page(queryset, cursor, size=SIZE)
        pages.append(page)
        if not page.has_next:
            return pages
        cursor = page.next_cursor


def test_forward_pages_hold_every_row_once_in_order(events):
    pages = walk(events, NEWEST_FIRST)
    walked = [event.pk for page in pages for event in page.rows]
    assert walked == list(events.order_by("-created_at", "-id").values_list("pk", flat=True))
    assert [len(page.rows) for page in pages] == [7, 7, 7, 7, 7, 5]
    assert not pages[0].has_previous and all(page.has_previous for page in pages[1:])


def test_previous_pages_are_the_pages_before(events):
    pages = walk(events, NEWEST_FIRST)
    for before, page in zip(pages, pages[1:], strict=False):
        back = NEWEST_FIRST.page(events, page.previous_cursor, size=SIZE)
        assert back.rows == before.rows
        assert back.has_previous == before.has_previous
        assert back.next_cursor is not None


def test_a_previous_page_short_of_rows_becomes_the_first_page(events):
    pages = walk(events, NEWEST_FIRST)
    # Two of the newest rows go: the page before the second one is the (full) first page.
    AuditEvent.objects.filter(pk__in=[event.pk for event in pages[0].rows[:2]]).delete()
    back = NEWEST_FIRST.page(events, pages[1].previous_cursor, size=SIZE)
    assert not back.has_previous and len(back.rows) == SIZE
    assert back.rows == NEWEST_FIRST.page(events, None, size=SIZE).rows


def test_ascending_order_on_a_stored_key(organization):
    for number in range(12):
        add_member(organization, Role.VIEWER if number % 2 else Role.ADMIN)
    memberships = Membership.objects.filter(organization=organization)
    keyset = Keyset("test-members", ("sort_key", "id"))
    walked = [row.pk for page in walk(memberships, keyset) for row in page.rows]
    assert walked == list(memberships.order_by("sort_key", "id").values_list("pk", flat=True))
    roles = [Membership.objects.get(pk=pk).role for pk in walked]
    assert roles == ["owner"] + ["admin"] * 6 + ["viewer"] * 6


@pytest.mark.parametrize(
    "cursor",
    ["junk", "\x00", "x" * 10_000, "WyJuIiwxXQ~forged", "WyJuIiwxXQ"],
)
def test_a_cursor_it_did_not_write_starts_again(events, cursor):
    page = NEWEST_FIRST.page(events, cursor, size=SIZE)
    assert page.restarted and page.is_first
    assert page.rows == NEWEST_FIRST.page(events, None, size=SIZE).rows
    assert not NEWEST_FIRST.accepts(cursor)


def test_a_cursor_of_another_list_or_an_altered_one_is_refused(events):
    cursor = NEWEST_FIRST.page(events, None, size=SIZE).next_cursor
    assert NEWEST_FIRST.accepts(cursor)
    assert not Keyset("another-list", NEWEST_FIRST.ordering).accepts(cursor)
    payload, signature = cursor.rsplit("~", 1)
    assert not NEWEST_FIRST.accepts(f"{payload}A~{signature}")
    assert NEWEST_FIRST.page(events, f"{payload}~{signature[:-1]}", size=SIZE).restarted


def test_a_position_holding_the_longest_email_makes_a_usable_cursor():
    row = SimpleNamespace(sort_key=membership_sort_key(Role.VIEWER, "a" * 242 + "@example.test"))
    row.id = 2**63 - 1
    keyset = Keyset("test-members", ("sort_key", "id"))
    assert keyset.accepts(keyset.cursor_after(row))


def test_pages_are_read_from_the_position_not_by_offset(events, django_assert_num_queries):
    cursor = walk(events, NEWEST_FIRST)[3].next_cursor
    with django_assert_num_queries(1) as queries:
        NEWEST_FIRST.page(events, cursor, size=SIZE)
    assert "OFFSET" not in queries.captured_queries[0]["sql"].upper()


def test_counts_stop_at_the_limit(events):
    assert count_up_to(events, limit=100) == 40
    assert count_up_to(events, limit=40) == 40
    assert count_up_to(events, limit=39) is None


def test_the_migration_fills_every_sort_key(organization):
    """The data migration writes what the services write, for rows made before the field."""
    people = [add_member(organization, role) for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER)]
    people.append(make_user("Zed@Example.test"))
    add_member(organization, Role.OWNER, people[-1])
    Membership.objects.filter(organization=organization).update(sort_key="")
    migration = importlib.import_module("orgs.migrations.0006_membership_sort_key")
    # The function reads only the connection from the schema editor; a real one cannot open
    # inside the test's transaction on SQLite.
    migration.fill_sort_keys(django_apps, SimpleNamespace(connection=connection))
    for membership in Membership.objects.filter(organization=organization).select_related("user"):
        assert membership.sort_key == membership_sort_key(membership.role, membership.user.email)
