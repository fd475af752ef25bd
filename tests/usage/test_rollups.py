"""The rollups equal the raw logs summed, after any mix of batches and retries, and a rebuild
from the raw logs gives them back exactly."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate, TruncHour
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.usage.conftest import log_row
from usage.maintenance import rollups_rebuild
from usage.models import (
    LATENCY_BUCKET_FIELDS,
    HourlyRollup,
    KeyDayRollup,
    RequestLog,
    UserDayRollup,
    latency_bucket,
)
from usage.services import logs_ingest

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)
COUNTERS = ("requests", "errors", "input_tokens", "output_tokens", "cached_tokens", "cost")
COUNTERS += ("latency_sum_ms", "cache_hits", "fallbacks")


def raw_counters() -> dict:
    return {
        "requests": Count("id"),
        "errors": Count("id", filter=Q(status_code__gte=400) | Q(status_code__lt=100)),
        "input_tokens": Sum("input_tokens"),
        "output_tokens": Sum("output_tokens"),
        "cached_tokens": Sum("cached_tokens"),
        "cost": Sum("cost"),
        "latency_sum_ms": Sum("latency_ms"),
        "cache_hits": Count("id", filter=Q(cache_hit=True)),
        "fallbacks": Count("id", filter=Q(fallback_used=True)),
    }


def normal(values: dict) -> dict:
    # SQLite sums decimals as floats: compare costs to the 10 places the tables keep.
    return {
        k: Decimal(str(v)).quantize(Decimal("1e-8")) if k == "cost" else v
        for k, v in values.items()
    }


def rollups() -> dict:
    hourly = {
        (r["organization_id"], r["hour"], r["model"], r["provider"]): normal(r)
        for r in HourlyRollup.objects.values(
            "organization_id", "hour", "model", "provider", *COUNTERS, *LATENCY_BUCKET_FIELDS
        )
    }
    key_day = {
        (r["organization_id"], r["key_id"], r["day"]): normal(r)
        for r in KeyDayRollup.objects.values("organization_id", "key_id", "day", *COUNTERS)
    }
    user_day = {
        (r["organization_id"], r["end_user"], r["day"]): normal(r)
        for r in UserDayRollup.objects.values("organization_id", "end_user", "day", *COUNTERS)
    }
    return {"hourly": hourly, "key_day": key_day, "user_day": user_day}


def raw_aggregates() -> dict:
    """The same figures from the raw logs, summed in the database (buckets counted in Python)."""
    logs = RequestLog.objects.order_by()
    histograms: dict[tuple, list[int]] = {}
    for organization_id, started_at, model, provider, latency in logs.values_list(
        "organization_id", "started_at", "model", "provider", "latency_ms"
    ):
        hour = started_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        counts = histograms.setdefault(
            (organization_id, hour, model, provider), [0] * len(LATENCY_BUCKET_FIELDS)
        )
        counts[latency_bucket(latency)] += 1
    hourly = {}
    for r in (
        logs.annotate(hour=TruncHour("started_at", tzinfo=UTC))
        .values("organization_id", "hour", "model", "provider")
        .annotate(**raw_counters())
    ):
        key = (r["organization_id"], r["hour"], r["model"], r["provider"])
        r.update(zip(LATENCY_BUCKET_FIELDS, histograms[key], strict=True))
        hourly[key] = normal(r)
    by_day = logs.annotate(day=TruncDate("started_at", tzinfo=UTC))
    key_day = {
        (r["organization_id"], r["key_id"], r["day"]): normal(r)
        for r in by_day.values("organization_id", "key_id", "day").annotate(**raw_counters())
    }
    user_day = {
        (r["organization_id"], r["end_user"], r["day"]): normal(r)
        for r in by_day.values("organization_id", "end_user", "day").annotate(**raw_counters())
    }
    return {"hourly": hourly, "key_day": key_day, "user_day": user_day}


row_fields = st.fixed_dictionaries(
    {
        "key": st.sampled_from(["acme_main", "acme_daily", "other_main"]),
        "minutes_ago": st.integers(0, 3 * 24 * 60),
        "model": st.sampled_from(["gpt-4o", "claude-sonnet-4"]),
        "provider": st.sampled_from(["openai", "anthropic"]),
        "status_code": st.sampled_from([200, 200, 429, 500, 0]),
        "latency_ms": st.integers(0, 40_000),
        "input_tokens": st.integers(0, 10_000),
        "cost": st.decimals(0, 5, places=6),
        "cache_hit": st.booleans(),
        "fallback_used": st.booleans(),
        "user": st.sampled_from(["", "alice", "bob"]),
    }
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(st.lists(row_fields, min_size=1, max_size=25), min_size=1, max_size=4),
    retried=st.lists(st.integers(0, 3), max_size=3),
)
def test_rollups_equal_the_raw_logs_summed_and_a_rebuild_gives_them_back(world, batches, retried):
    with transaction.atomic():
        sent = []
        for batch in batches:
            rows = []
            for fields in batch:
                fields = dict(fields)
                key = getattr(world, fields.pop("key"))
                started_at = NOW - timedelta(minutes=fields.pop("minutes_ago"))
                rows.append(log_row(key, started_at, **fields))
            sent.append(rows)
            logs_ingest(rows=rows, now=NOW)
        for index in retried:  # a gateway retrying batches that did commit
            if index < len(sent):
                assert logs_ingest(rows=sent[index], now=NOW).accepted == 0

        ingested = rollups()
        assert ingested == raw_aggregates()
        assert ingested["key_day"]

        rollups_rebuild(since=NOW - timedelta(days=4), until=NOW + timedelta(days=1))
        assert rollups() == ingested
        transaction.set_rollback(True)


def test_a_rebuild_touches_only_its_days(world):
    logs_ingest(rows=[log_row(world.acme_main, NOW - timedelta(days=d)) for d in range(3)], now=NOW)
    KeyDayRollup.objects.update(requests=99)
    rollups_rebuild(
        since=datetime(2026, 12, 1, tzinfo=UTC), until=datetime(2026, 12, 2, tzinfo=UTC)
    )
    by_day = dict(KeyDayRollup.objects.values_list("day", "requests"))
    assert by_day == {
        (NOW - timedelta(days=2)).date(): 99,  # outside the range: left as it was
        (NOW - timedelta(days=1)).date(): 1,
        NOW.date(): 99,  # --until is the day after the last
    }
