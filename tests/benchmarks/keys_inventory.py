"""Benchmark: Settings > API keys, first and last page, for orgs of 1,000, 100,000 and 1,000,000
keys among a million newer keys of other orgs: the hard case, where an org's keys are older than
everything around them. Prints median request times and query counts; asserts nothing timed.

Run: make bench   (or: .venv/bin/python -m pytest -m bench -s tests/benchmarks/keys_inventory.py)
BENCH_SCALE=0.01 runs the same at a hundredth of the sizes (a quick check of the script).
"""

import os
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from keys import selectors
from orgs.access import access_organization
from tests.benchmarks.bulk_data import Table, add_keys, analyze, last_position, measure, next_link
from tests.factories import make_organization, make_user

pytestmark = pytest.mark.bench

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SIZES = [max(2, int(size * SCALE)) for size in (1_000, 100_000, 1_000_000)]
OTHER_KEYS = max(2, int(1_000_000 * SCALE))
OTHER_ORGS = 20


def last_page_url(client, access, base: str, total: int) -> str:
    """The last page's address in the form of the first page's own "next" link, walked to
    through the selector's next cursors."""
    if next_link(client.get(base).content.decode()) is None:
        return base  # one page holds them all

    def fetch(cursor, size):
        page = selectors.key_inventory_page(
            access.organization,
            user=access.membership.user,
            capabilities=access.permissions,
            now=timezone.now(),
            cursor=cursor,
            size=size,
        )
        return page.page.next_cursor

    position = last_position(fetch, selectors.KEY_PAGE_SIZE, total)
    url = f"{base}?{urlencode({'cursor': position})}"
    assert next_link(client.get(url).content.decode()) is None, f"{url} is not the last page"
    return url


def test_inventory_first_and_last_page_among_other_orgs_keys(client, bench_db):
    owner = make_user("owner@bench.test", display_name="Bench Owner")
    started = time.perf_counter()
    # Largest first, so each measured org's keys are older than those of every org around it.
    measured, base_time = {}, timezone.now() - timedelta(days=400)
    for tag, size in zip("cba", reversed(SIZES), strict=True):
        organization = make_organization(f"Bench keys {size}", owner=owner)
        add_keys([organization], owner, size, base_time, tag)
        measured[size] = organization
        base_time += timedelta(seconds=size + 1)
    others = [make_organization(f"Neighbour {n}") for n in range(OTHER_ORGS)]
    add_keys(others, owner, OTHER_KEYS, base_time, "o")
    analyze()
    print(
        f"\n  {sum(SIZES) + OTHER_KEYS:,} keys built in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    client.force_login(owner)
    table = Table(
        f"Settings > API keys: an org's first and last page among {OTHER_KEYS:,} newer keys "
        f"of {OTHER_ORGS} other orgs"
    )
    for size in SIZES:
        organization = measured[size]
        base = reverse("keys:list", kwargs={"slug": organization.slug})
        table.add(measure(client, "first page", size, base))
        started = time.perf_counter()
        access = access_organization(owner, organization.slug)
        last = last_page_url(client, access, base, size)
        print(f"    (walked to the last page in {time.perf_counter() - started:.1f} s)")
        table.add(measure(client, "last page", size, last))
    table.print()
