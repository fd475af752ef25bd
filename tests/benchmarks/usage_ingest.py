"""Benchmark: request-log ingestion through `logs_ingest` (validation, key lookup, insert, three
rollup upserts, last_used_at) in batches of 1,000, against PostgreSQL's `COPY` of the same rows
into the same partitioned table (no validation, no rollups: the floor), in turns, best of 3.
Prints rows/s and the ratio; asserts nothing timed.

Run: .venv/bin/python -m pytest -m bench -s tests/benchmarks/usage_ingest.py
USAGE_BENCH_ROWS sets the number of rows (default 50,000).
"""

import json
import os
import time
from datetime import datetime

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import make_organization, make_user
from tests.keys.conftest import make_key
from usage.demo_traffic import traffic_rows
from usage.models import RequestLog
from usage.services import LOG_COLUMNS, LogRow, logs_ingest

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
    owner = make_user("owner@bench.test")
    organizations = [make_organization(f"Bench ingest {n}", owner=owner) for n in range(3)]
    keys = [make_key(org, owner, f"key {n}").key for org in organizations for n in range(4)]
    now = timezone.now()
    days = 10
    rows = list(
        traffic_rows(
            key_ids=[key.public_id for key in keys],
            key_weights=[1] * len(keys),
            end=now,
            days=days,
            per_day=int(ROWS / days / 0.98),
            request_prefix="bench",
        )
    )[:ROWS]
    print(
        f"\n{len(rows):,} rows, {len(keys)} keys in {len(organizations)} orgs, batches of {BATCH:,}"
    )

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
    by_public_id = {key.public_id: key for key in keys}
    ingested_at = datetime.now(now.tzinfo)
    records = []
    for raw in rows:
        row = LogRow.model_validate(raw)
        key = by_public_id[row.key_id]
        records.append(
            (
                key.organization_id, key.pk, row.request_id, row.model, row.provider,
                row.status_code, row.latency_ms, row.ttft_ms, row.input_tokens,
                row.output_tokens, row.cached_tokens, row.cost, row.cache_hit,
                row.fallback_used, row.started_at, row.user, row.session_id, row.error,
                json.dumps(row.metadata), ingested_at,
            )
        )  # fmt: skip
    columns = ", ".join(column for column, _ in LOG_COLUMNS)

    def copy() -> float:
        with transaction.atomic():
            started = time.perf_counter()
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY usage_requestlog ({columns}) FROM STDIN") as copying,
            ):
                for record in records:
                    copying.write_row(record)
            commit_checks()
            seconds = time.perf_counter() - started
            assert RequestLog.objects.count() == len(rows)
            transaction.set_rollback(True)
        return seconds

    # Taken in turns, best of each: the machine's other work weighs on both alike.
    ingest_seconds, copy_seconds = float("inf"), float("inf")
    for _ in range(ROUNDS):
        ingest_seconds = min(ingest_seconds, ingest())
        copy_seconds = min(copy_seconds, copy())
    ingest_rate, copy_rate = len(rows) / ingest_seconds, len(rows) / copy_seconds
    print(f"logs_ingest: {ingest_rate:>10,.0f} rows/s ({ingest_seconds:.2f} s, best of {ROUNDS})")
    print(f"COPY:        {copy_rate:>10,.0f} rows/s ({copy_seconds:.2f} s, best of {ROUNDS})")
    print(f"logs_ingest / COPY: {ingest_rate / copy_rate:.2f}x")
