"""Races on PostgreSQL: gateways sending overlapping batches at once (a retry racing the first
try) store each request once, count it once in the rollups, and never deadlock."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Sum

from tests.factories import make_organization, make_user
from tests.keys.conftest import make_key
from tests.races import run_together
from tests.usage.conftest import KeyRef, log_row
from usage.models import HourlyRollup, KeyDayRollup, RequestLog, UserDayRollup
from usage.services import logs_ingest

THREADS = 6
NOW = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent transactions are what this tests; SQLite runs one writer at a time",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_overlapping_batches_at_once_store_and_count_each_request_once():
    owner = make_user()
    organization = make_organization(owner=owner)
    keys = [make_key(organization, owner, f"key {n}").key for n in range(3)]
    refs = [KeyRef(k.pk, k.public_id, k.secret_hash, k.organization_id) for k in keys]
    rows = [
        log_row(refs[i % 3], NOW - timedelta(minutes=i), user=f"u{i % 5}", cost=0.5)
        for i in range(300)
    ]
    # Each gateway sends an overlapping share of the requests, in its own order.
    batches = [random.Random(n).sample(rows, 150 + 25 * n) for n in range(THREADS)]
    expected = len({row["request_id"] for batch in batches for row in batch})
    outcomes = run_together(lambda number: logs_ingest(rows=batches[number], now=NOW), THREADS)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    stored = RequestLog.objects.count()
    assert stored == expected
    assert sum(o.accepted for o in outcomes) == stored
    assert sum(o.duplicates for o in outcomes) == sum(map(len, batches)) - stored
    for model in (HourlyRollup, KeyDayRollup, UserDayRollup):
        totals = model.objects.aggregate(requests=Sum("requests"), cost=Sum("cost"))
        assert totals["requests"] == stored
        assert totals["cost"] == stored * 0.5
