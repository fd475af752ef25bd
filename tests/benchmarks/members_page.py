"""Benchmark: Settings > Members at 1,000, 10,000 and 100,000 members: the first page, the last
page (reached the way the page leads there) and a search for one member. Prints median request
times and query counts; asserts nothing timed.

Run: make bench   (or: .venv/bin/python -m pytest -m bench -s tests/benchmarks/members_page.py)
BENCH_SCALE=0.1 runs the same at a tenth of the sizes (a quick check of the script).
"""

import os
import time
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from members import selectors
from orgs.models import Membership
from tests.benchmarks.bulk_data import (
    Table,
    add_members,
    analyze,
    last_position,
    measure,
    next_link,
)
from tests.factories import make_organization, make_user

pytestmark = pytest.mark.bench

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SIZES = [max(2, int(size * SCALE)) for size in (1_000, 10_000, 100_000)]


def last_page_url(client, organization, base: str) -> str:
    """The last page's address, in the form of the first page's own "next" link: the keyset
    cursor the selector's next links lead to."""
    if next_link(client.get(base).content.decode()) is None:
        return base  # one page holds them all

    def fetch(cursor, size):
        return selectors.members_page(organization, cursor=cursor, size=size).page.next_cursor

    total = Membership.objects.filter(organization=organization).count()
    position = last_position(fetch, selectors.MEMBERS_PAGE_SIZE, total)
    url = f"{base}?{urlencode({'cursor': position})}"
    assert next_link(client.get(url).content.decode()) is None, f"{url} is not the last page"
    return url


def test_members_page_first_last_and_search(client, bench_db):
    owner = make_user("owner@bench.test", display_name="Bench Owner")
    organization = make_organization("Bench members", owner=owner)
    base = reverse("members:list", args=[organization.slug])
    table = Table("Settings > Members: first page, last page, search for one member")
    built = 1  # the Owner
    for size in SIZES:
        started = time.perf_counter()
        add_members(organization, built, size)
        built = size
        analyze()
        print(f"\n  {size:,} members built in {time.perf_counter() - started:.1f} s", flush=True)

        client.force_login(owner)
        table.add(measure(client, "first page", size, base))
        table.add(measure(client, "last page", size, last_page_url(client, organization, base)))
        table.add(measure(client, "search one member", size, f"{base}?q=000042"))
    table.print()
