"""logs_ingest: each row in its own key's org, idempotent retries, bad rows reported by field,
last_used_at throttled, and a fixed number of queries whatever the batch size."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from keys.models import RetiredSecret, VirtualKey
from tests.usage.conftest import log_row
from usage.models import HourlyRollup, KeyDayRollup, RequestLog, UserDayRollup
from usage.services import METADATA_MAX_KEYS, logs_ingest

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)


def snapshot() -> dict:
    """Every log and rollup row, without ids: what a retry must leave as it was."""
    return {
        model.__name__: sorted(
            (
                tuple(sorted((k, str(v)) for k, v in model_to_dict(row).items() if k != "id"))
                for row in model.objects.all()
            ),
        )
        for model in (RequestLog, HourlyRollup, KeyDayRollup, UserDayRollup)
    }


def test_a_mixed_batch_lands_in_the_org_of_each_rows_key(world):
    rows = [
        log_row(world.acme_main, NOW, cost=1.5),
        log_row(world.other_main, NOW, cost=2.25),
        # Named by the hash the key sync hands out instead of the public id.
        {
            **log_row(world.other_main, NOW, cost=0.25),
            "key_id": None,
            "key_hash": world.other_main.secret_hash,
        },
        log_row(world.acme_daily, NOW - timedelta(hours=3), cost=1),
    ]
    result = logs_ingest(rows=rows, now=NOW)

    assert (result.accepted, result.duplicates, result.rejected) == (4, 0, [])
    stored = {log.request_id: (log.organization_id, log.key_id) for log in RequestLog.objects.all()}
    assert stored == {
        rows[0]["request_id"]: (world.acme, world.acme_main.pk),
        rows[1]["request_id"]: (world.other, world.other_main.pk),
        rows[2]["request_id"]: (world.other, world.other_main.pk),
        rows[3]["request_id"]: (world.acme, world.acme_daily.pk),
    }
    spend = {
        r.organization_id: r.cost for r in KeyDayRollup.objects.filter(key=world.other_main.pk)
    }
    assert spend == {world.other: Decimal("2.5")}
    hourly = {(r.organization_id, r.hour): r.requests for r in HourlyRollup.objects.all()}
    assert hourly == {
        (world.acme, NOW.replace(minute=0)): 1,
        (world.acme, NOW.replace(minute=0) - timedelta(hours=3)): 1,
        (world.other, NOW.replace(minute=0)): 2,
    }


def test_a_retried_batch_changes_nothing(world):
    rows = [
        log_row(world.acme_main, NOW - timedelta(minutes=i), user=f"u{i % 3}", latency_ms=i * 97)
        for i in range(40)
    ]
    first = logs_ingest(rows=rows, now=NOW)
    before = snapshot()

    again = logs_ingest(rows=rows, now=NOW)

    assert (first.accepted, first.duplicates) == (40, 0)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 40, [])
    assert snapshot() == before


def test_a_partly_retried_batch_counts_only_its_new_rows(world):
    old = [log_row(world.acme_main, NOW, cost=1) for _ in range(3)]
    logs_ingest(rows=old, now=NOW)
    new = [log_row(world.acme_main, NOW, cost=10) for _ in range(2)]

    result = logs_ingest(rows=old + new, now=NOW)

    assert (result.accepted, result.duplicates) == (2, 3)
    day = KeyDayRollup.objects.get(key=world.acme_main.pk)
    assert (day.requests, day.cost) == (5, Decimal(23))


def test_a_request_repeated_within_a_batch_is_stored_once(world):
    row = log_row(world.acme_main, NOW)
    result = logs_ingest(rows=[row, dict(row)], now=NOW)
    assert (result.accepted, result.duplicates) == (1, 1)
    assert KeyDayRollup.objects.get().requests == 1


def test_one_request_id_in_two_orgs_is_two_requests(world):
    rows = [
        log_row(world.acme_main, NOW, request_id="shared-id"),
        log_row(world.other_main, NOW, request_id="shared-id"),
    ]
    assert logs_ingest(rows=rows, now=NOW).accepted == 2


def test_one_request_id_with_two_start_times_in_a_batch_is_refused(world):
    rows = [
        log_row(world.acme_main, NOW, request_id="twice"),
        log_row(world.acme_main, NOW - timedelta(seconds=5), request_id="twice"),
    ]
    result = logs_ingest(rows=rows, now=NOW)
    assert result.accepted == 1
    assert [(r.index, r.field) for r in result.rejected] == [(1, "request_id")]


BAD_ROWS = {
    # name: (changes to a good row, field named in the rejection)
    "unknown field": ({"prompt": "the user's secret question"}, "prompt"),
    "negative tokens": ({"input_tokens": -1}, "input_tokens"),
    "status code as text": ({"status_code": "200"}, "status_code"),
    "status code out of range": ({"status_code": 700}, "status_code"),
    "negative cost": ({"cost": -0.5}, "cost"),
    "cost not a number": ({"cost": "a lot"}, "cost"),
    "boolean as number": ({"cache_hit": 1}, "cache_hit"),
    "no time zone": ({"started_at": "2026-12-02T12:00:00"}, "started_at"),
    "not a time": ({"started_at": "yesterday"}, "started_at"),
    "far future": ({"started_at": (NOW + timedelta(hours=2)).isoformat()}, "started_at"),
    "older than retention": ({"started_at": (NOW - timedelta(days=400)).isoformat()}, "started_at"),
    "missing model": ({"model": None}, "model"),
    "long request id": ({"request_id": "r" * 129}, "request_id"),
    "control character": ({"model": "gpt\n4o"}, "model"),
    "bidi override": ({"user": "evil\u202eadmin"}, "user"),
    "lone surrogate": ({"session_id": "s\ud800"}, "session_id"),
    "too much metadata": (
        {"metadata": {f"k{i}": "v" for i in range(METADATA_MAX_KEYS + 1)}},
        "metadata",
    ),
    "long metadata value": ({"metadata": {"team": "x" * 201}}, "metadata"),
    "nested metadata": ({"metadata": {"team": {"a": 1}}}, "metadata"),
    "metadata not an object": ({"metadata": ["team"]}, "metadata"),
    "unknown key id": ({"key_id": "key_doesnotexist"}, "key_id"),
    "unknown key hash": ({"key_id": None, "key_hash": "0" * 64}, "key_hash"),
    "no key": ({"key_id": None}, ""),
}


@pytest.mark.parametrize("case", BAD_ROWS, ids=list(BAD_ROWS))
def test_a_bad_row_is_reported_by_field_and_the_good_ones_are_kept(world, case):
    changes, field = BAD_ROWS[case]
    bad = {k: v for k, v in {**log_row(world.acme_main, NOW), **changes}.items() if v is not None}
    good = [log_row(world.acme_main, NOW), log_row(world.other_main, NOW)]

    result = logs_ingest(rows=[good[0], bad, good[1]], now=NOW)

    assert result.accepted == 2
    assert {r.index for r in result.rejected} == {1}
    assert field in [r.field for r in result.rejected], result.rejected
    assert all(r.reason for r in result.rejected)
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == sorted(
        row["request_id"] for row in good
    )
    assert KeyDayRollup.objects.get(key=world.acme_main.pk).requests == 1


def test_a_row_that_is_not_an_object_is_reported(world):
    result = logs_ingest(rows=["not a row", log_row(world.acme_main, NOW)], now=NOW)
    assert result.accepted == 1
    assert [(r.index, r.field) for r in result.rejected] == [(0, "")]


def test_key_id_and_key_hash_of_two_keys_are_refused(world):
    row = {**log_row(world.acme_main, NOW), "key_hash": world.other_main.secret_hash}
    result = logs_ingest(rows=[row], now=NOW)
    assert [(r.field, r.index) for r in result.rejected] == [("key_hash", 0)]


def test_a_secret_retired_by_rotation_still_names_its_key(world):
    retired = "ab" * 32
    RetiredSecret.objects.create(
        key_id=world.acme_main.pk,
        secret_hash=retired,
        secret_last4="abab",
        valid_until=NOW + timedelta(hours=1),
    )
    row = {**log_row(world.acme_main, NOW), "key_id": None, "key_hash": retired}
    assert logs_ingest(rows=[row], now=NOW).accepted == 1
    assert RequestLog.objects.get().key_id == world.acme_main.pk


def test_long_errors_are_cut_and_costs_kept_to_ten_places(world):
    row = log_row(world.acme_main, NOW, status_code=502, error="x" * 2000, cost=0.123456789012345)
    logs_ingest(rows=[row], now=NOW)
    log = RequestLog.objects.get()
    assert len(log.error) == 500
    assert log.cost == Decimal("0.1234567890")
    assert log.is_error and KeyDayRollup.objects.get().errors == 1


def last_used(key) -> datetime | None:
    return VirtualKey.objects.values_list("last_used_at", flat=True).get(pk=key.pk)


def test_last_used_at_moves_at_most_once_a_minute(world):
    key = world.acme_main
    logs_ingest(rows=[log_row(key, NOW)], now=NOW)
    assert last_used(key) == NOW

    logs_ingest(rows=[log_row(key, NOW + timedelta(seconds=59))], now=NOW + timedelta(minutes=1))
    assert last_used(key) == NOW  # within the minute: no write

    logs_ingest(rows=[log_row(key, NOW - timedelta(minutes=5))], now=NOW + timedelta(minutes=1))
    assert last_used(key) == NOW  # an older request never moves it back

    later = NOW + timedelta(seconds=61)
    logs_ingest(rows=[log_row(key, later)], now=later)
    assert last_used(key) == later
    assert last_used(world.other_main) is None


@pytest.mark.parametrize("size", [10, 2_500])
def test_a_batch_takes_the_same_few_queries_whatever_its_size(
    world, size, django_assert_max_num_queries
):
    keys = [world.acme_main, world.acme_daily, world.other_main]
    rows = [
        log_row(keys[i % 3], NOW - timedelta(minutes=i % 600), model=f"m{i % 7}", user=f"u{i % 50}")
        for i in range(size)
    ]
    # Key lookup, savepoint, inserts (1,000 rows each), 3 rollup upserts, last_used_at, release;
    # budget alerts: the orgs' budgets, the keys' budgets, one spend sum per period in use.
    with django_assert_max_num_queries(6 + 3 + 3 + (size + 999) // 1000):
        result = logs_ingest(rows=rows, now=NOW)
    assert result.accepted == size


def test_a_gateway_clock_ahead_never_marks_a_key_used_in_the_future(world):
    ahead = NOW + timedelta(minutes=3)
    assert logs_ingest(rows=[log_row(world.acme_main, ahead)], now=NOW).accepted == 1
    assert last_used(world.acme_main) == NOW
