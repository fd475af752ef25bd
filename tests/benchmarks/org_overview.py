"""Benchmark: an org's overview and the Your organizations page for a user in one org and for a
user in 500. Prints median request times, query counts and page sizes; asserts nothing timed.

Run: make bench   (or: .venv/bin/python -m pytest -m bench -s tests/benchmarks/org_overview.py)
"""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.benchmarks.bulk_data import Table, add_organizations, analyze, measure
from tests.factories import make_organization, make_user

pytestmark = pytest.mark.bench

SIZES = (1, 500)


def test_overview_for_a_user_in_one_org_and_in_500(client, bench_db):
    table = Table("Org overview and Your organizations, by the number of the user's orgs")
    for size in SIZES:
        started = time.perf_counter()
        user = make_user(f"in-{size}@bench.test", display_name=f"In {size}")
        organization = make_organization(f"Home of {size}", owner=user)
        add_organizations(user, size - 1, timezone.now() - timedelta(days=30), f"of-{size}")
        analyze()
        print(f"\n  a user in {size} orgs built in {time.perf_counter() - started:.1f} s")

        client.force_login(user)
        overview = reverse("orgs:overview", args=[organization.slug])
        table.add(measure(client, "overview", size, overview))
        table.add(measure(client, "your organizations", size, reverse("org_list")))
    table.print()
