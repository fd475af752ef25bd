"""Benchmark: Settings > API keys for an org with 10,000 keys. Prints the inventory page's query
count and render time (whole request through the test client), per filter and page.

Run: make bench   (or: .venv/bin/python -m pytest -m bench -s tests/benchmarks/keys_inventory.py)
"""

import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keys.models import VirtualKey
from keys.selectors import INVENTORY_ORDER
from tests.keys.conftest import bulk_keys, make_key

pytestmark = pytest.mark.bench

KEYS = 10_000
RUNS = 20


def measure(client, url: str) -> tuple[int, float, float]:
    client.get(url)  # warm the template cache and the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    # Read it now: every request start clears the query log.
    count = len(queries.captured_queries)
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return count, statistics.median(timings), max(timings)


def test_inventory_with_10000_keys(client, organization, owner, member):
    started = time.perf_counter()
    bulk_keys(organization, owner, KEYS - 100, revoked_every=7)
    bulk_keys(organization, member, 100)
    make_key(organization, member, name="newest")
    setup_seconds = time.perf_counter() - started
    assert VirtualKey.objects.filter(organization=organization).count() == KEYS + 1

    client.force_login(member)
    base = reverse("keys:list", kwargs={"slug": organization.slug})
    newest_first = VirtualKey.objects.filter(organization=organization).order_by(
        *INVENTORY_ORDER.ordering
    )
    deep = INVENTORY_ORDER.cursor_after(newest_first[KEYS - 200])
    last = INVENTORY_ORDER.cursor_after(newest_first[KEYS - 50])
    variants = [
        ("first page", base),
        ("status=active", f"{base}?status=active"),
        ("status=revoked", f"{base}?status=revoked"),
        ("created by me", f"{base}?mine=on"),
        ("deep page (keyset)", f"{base}?cursor={deep}"),
        ("last page", f"{base}?cursor={last}"),
        ("htmx partial", base),
    ]
    print(
        f"\nAPI key inventory, {KEYS + 1:,} keys in one org ({connection.vendor}; "
        f"setup {setup_seconds:.1f} s), median/max of {RUNS} requests:"
    )
    print(f"  {'page':<22}{'queries':>8}{'median ms':>12}{'max ms':>10}")
    for label, url in variants:
        if label == "htmx partial":
            client.defaults["HTTP_HX_REQUEST"] = "true"
        queries, median, worst = measure(client, url)
        print(f"  {label:<22}{queries:>8}{median:>12.1f}{worst:>10.1f}")
    client.defaults.pop("HTTP_HX_REQUEST", None)
