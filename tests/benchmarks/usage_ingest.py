"""Benchmark: request-log ingestion through `logs_ingest` (validation, key lookup, insert, three
rollup upserts, last_used_at) in batches of 1,000, against PostgreSQL's `COPY` of the same rows
into the same partitioned table (no validation, no rollups: the floor), in turns, best of 3.
Prints rows/s and the ratio; asserts nothing timed.

Run: .venv/bin/python -m pytest -m bench -s tests/benchmarks/usage_ingest.py
USAGE_BENCH_ROWS sets the number of rows (default 50,000).
"""

import os
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.benchmarks.ingest_data import copy, copy_records, keys_and_rows
from usage.models import RequestLog
from usage.services import logs_ingest

pytestmark = pytest.mark.bench

ROWS = int(os.environ.get("USAGE_BENCH_ROWS", "50000"))
BATCH = 1_000
ROUNDS = 3


def commit_checks() -> None:
    """The foreign-key checks a commit runs (deferred to it), counted in both timings: the
    benchmark's transaction is rolled back, never committed."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_ingest_rows_per_second_against_copy(bench_db):
    keys, rows = keys_and_rows(ROWS, prefix="bench")
    now = timezone.now()
    print(f"\n{len(rows):,} rows, {len(keys)} keys in 3 orgs, batches of {BATCH:,}")

    def ingest() -> float:
        with transaction.atomic():
            started = time.perf_counter()
            for start in range(0, len(rows), BATCH):
                result = logs_ingest(rows=rows[start : start + BATCH], now=now)
                assert not result.rejected
            commit_checks()
            seconds = time.perf_counter() - started
            assert RequestLog.objects.count() == len(rows)
            transaction.set_rollback(True)
        return seconds

    if connection.vendor != "postgresql":
        seconds = min(ingest() for _ in range(ROUNDS))
        print(f"logs_ingest: {len(rows) / seconds:>10,.0f} rows/s ({seconds:.2f} s); no COPY here")
        return
    records = copy_records(rows, keys)

    def copy_once() -> float:
        with transaction.atomic():
            started = time.perf_counter()
            copy(records)
            commit_checks()
            seconds = time.perf_counter() - started
            assert RequestLog.objects.count() == len(rows)
            transaction.set_rollback(True)
        return seconds

    # Taken in turns, best of each: the machine's other work weighs on both alike.
    ingest_seconds, copy_seconds = float("inf"), float("inf")
    for _ in range(ROUNDS):
        ingest_seconds = min(ingest_seconds, ingest())
        copy_seconds = min(copy_seconds, copy_once())
    ingest_rate, copy_rate = len(rows) / ingest_seconds, len(rows) / copy_seconds
    print(f"logs_ingest: {ingest_rate:>10,.0f} rows/s ({ingest_seconds:.2f} s, best of {ROUNDS})")
    print(f"COPY:        {copy_rate:>10,.0f} rows/s ({copy_seconds:.2f} s, best of {ROUNDS})")
    print(f"logs_ingest / COPY: {ingest_rate / copy_rate:.2f}x")
