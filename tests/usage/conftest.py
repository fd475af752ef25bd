"""Usage test data: two orgs with keys, built once per module, and a valid log row to vary."""

import itertools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from keys.models import VirtualKey
from tests.factories import make_organization, make_user
from tests.keys.conftest import make_key

_request_ids = itertools.count(1)


@dataclass(frozen=True)
class KeyRef:
    pk: int
    public_id: str
    secret_hash: str
    organization_id: int


@dataclass(frozen=True)
class World:
    acme: int
    other: int
    acme_main: KeyRef
    acme_daily: KeyRef  # a daily budget of 10 USD
    other_main: KeyRef


def _ref(key: VirtualKey) -> KeyRef:
    return KeyRef(key.pk, key.public_id, key.secret_hash, key.organization_id)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    """Acme (two keys) and Other (one key), built once for the module and rolled back after it;
    each test runs in a savepoint of its own (`pytestmark = pytest.mark.django_db`)."""
    with django_db_blocker.unblock(), transaction.atomic():
        acme_owner = make_user("acme-owner@example.test")
        acme = make_organization("Acme AI", owner=acme_owner)
        other_owner = make_user("other-owner@example.test")
        other = make_organization("Other Corp", owner=other_owner)
        yield World(
            acme=acme.pk,
            other=other.pk,
            acme_main=_ref(make_key(acme, acme_owner, "main").key),
            acme_daily=_ref(
                make_key(acme, acme_owner, "daily", budget_limit=10, budget_period="daily").key
            ),
            other_main=_ref(make_key(other, other_owner, "main").key),
        )
        transaction.set_rollback(True)


def log_row(key: KeyRef, started_at: datetime, **fields) -> dict:
    """A valid row as a gateway sends it (JSON types: the time as ISO text, cost a number)."""
    row = {
        "request_id": f"req-{next(_request_ids)}",
        "key_id": key.public_id,
        "model": "gpt-4o",
        "provider": "openai",
        "status_code": 200,
        "latency_ms": 420,
        "ttft_ms": 180,
        "input_tokens": 1200,
        "output_tokens": 300,
        "cached_tokens": 0,
        "cost": 0.0042,
        "cache_hit": False,
        "fallback_used": False,
        "started_at": started_at.isoformat(),
        "user": "",
        "session_id": "",
        "error": "",
        "metadata": {},
    }
    row.update(fields)
    if isinstance(row["cost"], Decimal):
        row["cost"] = str(row["cost"])
    return row
