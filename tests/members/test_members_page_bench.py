"""Benchmark: Settings > Members with 1,000 to 100,000 members and 100 open invitations, plus a
50-address invitation batch. Prints query counts and request times; asserts nothing timed.

Run: .venv/bin/python -m pytest -m bench -s tests/members/test_members_page_bench.py
"""

import statistics
import time

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import Invitation
from tests.members.helpers import invite
from tests.members.test_members_page_queries import add_many_members, cursor_at

pytestmark = pytest.mark.bench

RUNS = 20


def measure(client, url: str, headers=None) -> tuple[int, float, float]:
    client.get(url, headers=headers)  # warm the template cache, session and last-seen write
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    count = len(queries.captured_queries)
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(url, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
    return count, statistics.median(timings), max(timings)


@pytest.mark.parametrize("members", [1_000, 10_000, 100_000])
def test_members_page(client, organization, owner, members):
    add_many_members(organization, members - 1)
    for n in range(100):
        invite(organization, owner, f"invitee{n:03}@example.test")
    client.force_login(owner)
    url = reverse("members:list", args=[organization.slug])
    variants = [
        ("first page", url, None),
        ("page 10", f"{url}?cursor={cursor_at(organization, 450)}", None),
        ("last page", f"{url}?cursor={cursor_at(organization, members - 50)}", None),
        ("search 'bulk00'", f"{url}?q=bulk00", None),
        ("role=viewer", f"{url}?role=viewer", None),
        ("htmx table", f"{url}?q=bulk0", {"HX-Request": "true", "HX-Target": "members-table"}),
    ]
    print(
        f"\nSettings > Members, {members:,} members + 100 open invitations "
        f"({connection.vendor}), median/max of {RUNS} requests:"
    )
    print(f"  {'page':<18}{'queries':>8}{'median ms':>12}{'max ms':>10}")
    for label, address, headers in variants:
        queries, median, worst = measure(client, address, headers)
        print(f"  {label:<18}{queries:>8}{median:>12.1f}{worst:>10.1f}")


@pytest.mark.django_db(transaction=True)
def test_invitation_batch_of_50(client, organization, owner):
    client.force_login(owner)
    url = reverse("members:invite", args=[organization.slug])
    emails = ", ".join(f"batch{n:02}@example.test" for n in range(50))
    mail.outbox = []
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.post(url, {"emails": emails, "role": "member"})
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 302
    assert Invitation.objects.count() == 50 and len(mail.outbox) == 50
    print(
        f"\nInvite 50 addresses in one request ({connection.vendor}, locmem mail): "
        f"{elapsed:.0f} ms, {len(queries.captured_queries)} queries, 50 emails after commit"
    )
