"""Benchmark: the pages viewers come for (Logs, Analytics, the overview) and the CSV export, for
an org holding 1,000 requests and then the same org holding 5 million of a 10-million-row log
(the other half spread over 99 orgs around it). Prints median request times, query counts and
the export's peak memory; asserts nothing timed.

Run: make bench   (or: .venv/bin/python -m pytest -m bench -s tests/benchmarks/usage_pages.py)
BENCH_SCALE=0.001 runs the same at a thousandth of the big size (a quick check of the script).
Building 10 million rows takes about 9 minutes on a 2-core machine. The rows are committed, as
the pages read them in production (read inside the transaction that wrote them, each row's
visibility check costs more with every savepoint the pages open), and truncated at the end.
"""

import io
import os
import statistics
import time
import tracemalloc
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orgs.models import Organization
from orgs.roles import Role
from tests.benchmarks.bulk_data import Table, analyze, measure
from tests.factories import add_member, make_user
from usage.models import RequestLog
from usage.selectors import REQUEST_LOG_KEYSET, LogFilter, request_log_page_plan

pytestmark = pytest.mark.bench

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SMALL_ROWS = 1_000
BIG_ROWS = max(20_000, int(10_000_000 * SCALE))
# usage_generate's first org ("bench-0000") gets half of each run's rows.
SLUG = "bench-0000"
FILTERED = {"range": "7d", "model": "gpt-4o", "errors_only": "on"}


def _generate(rows: int, orgs: int) -> None:
    started = time.perf_counter()
    call_command("usage_generate", rows=rows, orgs=orgs, days=30, stdout=io.StringIO())
    analyze()
    print(f"\n  {rows:,} rows over {orgs} orgs built in {time.perf_counter() - started:.1f} s")


def _deep_page(logs_url: str, organization: Organization) -> str:
    """The logs page whose rows start 20 hours back in the default 24-hour range: as deep as a
    person paging "Older" gets, in the form of the pager's own cursor."""
    row = (
        RequestLog.objects.filter(
            organization=organization, started_at__lte=timezone.now() - timedelta(hours=20)
        )
        .order_by(*REQUEST_LOG_KEYSET.ordering)
        .first()
    )
    return (
        f"{logs_url}?{urlencode({REQUEST_LOG_KEYSET.param: REQUEST_LOG_KEYSET.cursor_after(row)})}"
    )


def _export_peak(client, url: str) -> tuple[int, float, float]:
    """Rows and peak traced memory (MiB) of one streamed export, and its time (s)."""
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    lines = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return lines - 1, peak / 2**20, elapsed


def _sql_ms(client, url: str) -> float:
    """The database's share of one page: the median over 5 requests of its queries' summed time
    (what can grow with the rows; the rest is rendering, the same at any size)."""
    totals = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        totals.append(sum(float(query["time"]) for query in queries.captured_queries) * 1000)
    return statistics.median(totals)


def _measure_all(
    client, table: Table, organization: Organization, size: int, exports: list, sql: list
):
    slug = organization.slug
    logs = reverse("logs:list", args=[slug])
    analytics = reverse("analytics:overview", args=[slug])
    for case, url in (
        ("logs first page", logs),
        ("logs filtered", f"{logs}?{urlencode(FILTERED)}"),
        ("logs deep page", _deep_page(logs, organization)),
        ("analytics 30 d", f"{analytics}?period=30d"),
        ("overview", reverse("orgs:overview", args=[slug])),
    ):
        table.add(measure(client, case, size, url))
        sql.append((case, size, _sql_ms(client, url)))
    export = reverse("logs:export", args=[slug])
    # The 1,000-row org's whole month; of the big org, the last 7 days (about a million rows).
    query = {"range": "30d"} if size == SMALL_ROWS else {"range": "7d"}
    exports.append((size, *_export_peak(client, f"{export}?{urlencode(query)}")))


def test_usage_pages_at_1k_and_10m_rows(client, transactional_db):
    viewer = make_user("viewer@bench.test", display_name="Bench Viewer")
    table = Table("Logs, Analytics and the overview, as a Viewer, by the org's requests")
    exports: list[tuple] = []
    sql: list[tuple] = []

    _generate(SMALL_ROWS * 2, orgs=2)
    organization = Organization.objects.get(slug=SLUG)
    add_member(organization, Role.VIEWER, viewer)
    client.force_login(viewer)
    _measure_all(client, table, organization, SMALL_ROWS, exports, sql)

    _generate(BIG_ROWS, orgs=100)
    held = RequestLog.objects.filter(organization=organization).count()
    print(f"  {SLUG} now holds {held:,} of {RequestLog.objects.count():,} requests")
    _measure_all(client, table, organization, held, exports, sql)
    plan = request_log_page_plan(organization, LogFilter(since=timezone.now() - timedelta(days=1)))
    print(f"\nThe first logs page's query plan at {held:,} requests:\n{plan}")

    table.print()
    print("\nTheir database time (median of 5 requests, the queries' summed time)")
    for case in dict.fromkeys(case for case, _, _ in sql):
        small, big = (ms for name, _, ms in sql if name == case)
        print(f"  {case:<22}{small:>8.1f} ms at {SMALL_ROWS:,}{big:>8.1f} ms at {held:,}")
    print("\nCSV export, streamed (peak memory traced by Python while the whole file is read)")
    print(f"  {'org rows':>11}{'exported':>11}{'peak MiB':>10}{'seconds':>9}")
    for size, rows, peak, seconds in exports:
        print(f"  {size:>11,}{rows:>11,}{peak:>10.1f}{seconds:>9.1f}")
    growth = exports[-1][2] - exports[0][2]
    print(f"  peak growth: {growth:.1f} MiB (goal: within 50 MB)")
