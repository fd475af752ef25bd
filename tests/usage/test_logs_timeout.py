"""On PostgreSQL the Logs page reads under a statement timeout (LOGS_STATEMENT_TIMEOUT_MS): a read
the database cancels becomes a message saying to narrow the range, never a hung page or a server
error, and the next page works.

The slow read is real: another connection holds the log table's strongest lock, so the page's
query waits in PostgreSQL exactly as a long scan would run, until the timeout cancels it. (No
logs are written in the test's own transaction, which would otherwise hold a lock of its own.)"""

import time

import pytest
from django.db import connection, connections
from django.test import override_settings
from django.urls import reverse

from orgs.roles import Role
from tests.factories import add_member, make_organization, make_user
from usage.selectors import newest_marker
from usage.views import TIMED_OUT

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="statement_timeout is PostgreSQL's"
    ),
]


class TableLock:
    """A second connection holding ACCESS EXCLUSIVE on the log table until released."""

    def __init__(self):
        self.other = connections.create_connection("default")
        self.other.set_autocommit(False)
        with self.other.cursor() as cursor:
            # A lock the test's own transaction holds would make this wait: fail instead.
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            cursor.execute("LOCK TABLE usage_requestlog IN ACCESS EXCLUSIVE MODE")

    def release(self):
        if self.other is not None:
            self.other.rollback()
            self.other.close()
            self.other = None


@pytest.fixture
def table_lock():
    # Should the page not limit its query, this ends the wait (a failure, not a hung run); the
    # test's transaction is rolled back after it, which undoes this SET too.
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '10s'")
    lock = TableLock()
    yield lock
    lock.release()


@pytest.fixture
def viewer_client(client):
    owner = make_user("timeout-owner@example.test")
    organization = make_organization("Slow Logs", owner=owner)
    client.force_login(add_member(organization, Role.VIEWER))
    client.slug = organization.slug
    return client


@override_settings(LOGS_STATEMENT_TIMEOUT_MS=300)
def test_a_page_the_database_stops_reading_says_to_narrow_the_range(viewer_client, table_lock):
    url = reverse("logs:list", args=[viewer_client.slug])
    started = time.monotonic()
    response = viewer_client.get(url, {"range": "30d"})
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    page = response.content.decode()
    assert TIMED_OUT in page and "Pick a narrower time range" in page
    # The filters are still there to narrow; no table, no export of what could not be read.
    assert 'name="range"' in page and "<table" not in page and "Export these rows" not in page

    table = viewer_client.get(url, {"range": "30d"}, headers={"HX-Request": "true"})
    assert table.status_code == 200 and TIMED_OUT in table.content.decode()

    # A follow poll that cannot read says nothing new (204), and keeps polling.
    poll = reverse("logs:newer", args=[viewer_client.slug])
    assert viewer_client.get(poll, {"after": newest_marker_now()}).status_code == 204

    table_lock.release()
    response = viewer_client.get(url, {"range": "30d"})
    assert response.status_code == 200 and TIMED_OUT not in response.content.decode()
    assert "No requests in this time range" in response.content.decode()


def newest_marker_now() -> str:
    from django.utils import timezone

    return newest_marker(timezone.now(), 0)


@override_settings(LOGS_STATEMENT_TIMEOUT_MS=0)
def test_no_limit_leaves_the_statement_timeout_alone(viewer_client):
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
    response = viewer_client.get(reverse("logs:list", args=[viewer_client.slug]))
    assert response.status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == before


def test_the_limit_ends_with_the_page_query(viewer_client):
    """SET LOCAL in a savepoint rolled back: later statements of the same transaction run
    without it."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
    assert viewer_client.get(reverse("logs:list", args=[viewer_client.slug])).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == before
