"""A key's usage on its page: spend in its budget period (its own, else the org's) and a 30-day
sparkline equal to sums of the key's raw rows, never another key's or org's; last use; a fixed
number of queries."""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from keys.models import VirtualKey
from members.models import User
from prism_site.timezones import TIME_ZONE_COOKIE
from tests.factories import make_organization, make_user
from tests.keys.conftest import OPENAI_AND_ANTHROPIC, make_key, set_org_config
from tests.usage.conftest import KeyRef, _ref, log_row
from usage.dashboard import SPARKLINE_DAYS, key_usage
from usage.models import RequestLog
from usage.selectors import period_window
from usage.services import logs_ingest
from usage.templatetags.usage_panels import usd

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class KeysWorld:
    slug: str
    owner_id: int
    keys: dict[str, KeyRef]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> KeysWorld:
    """Acme (monthly org budget) with a daily-budget key, a key without a budget, a key with a
    budget in total and an idle key; each with rows every 9 hours over 40 days (the idle key
    none), beside Other's costlier key. Built once, rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        now = timezone.now()
        owner = make_user("ku-owner@example.test")
        acme = make_organization("Acme Keys Usage", owner=owner)
        set_org_config(acme, OPENAI_AND_ANTHROPIC)
        keys = {
            "daily": _ref(
                make_key(acme, owner, "daily", budget_limit=10, budget_period="daily").key
            ),
            "plain": _ref(make_key(acme, owner, "plain").key),
            "total": _ref(
                make_key(acme, owner, "total", budget_limit=1000, budget_period="total").key
            ),
            "idle": _ref(make_key(acme, owner, "idle").key),
        }
        other_owner = make_user("ku-other@example.test")
        other = make_organization("Other Keys Usage", owner=other_owner)
        keys["other"] = _ref(make_key(other, other_owner, "other").key)
        rows = []
        for index, name in enumerate(["daily", "plain", "total", "other"]):
            for n in range(40 * 24 // 9 - index):
                # Each key spends its own amounts, so no key's figures can pass for another's.
                cost = Decimal("0.25") * (n % 5 + 1) * (40 if name == "other" else index + 1)
                at = now - timedelta(hours=9 * n, minutes=7 * index + 1)
                rows.append(log_row(keys[name], at, cost=str(cost)))
        assert not logs_ingest(rows=rows, now=now).rejected
        yield KeysWorld(slug=acme.slug, owner_id=owner.pk, keys=keys)
        transaction.set_rollback(True)


def _key(world, name) -> VirtualKey:
    return VirtualKey.objects.get(pk=world.keys[name].pk)


def _raw_rows(world, name):
    return list(RequestLog.objects.filter(key_id=world.keys[name].pk).values("started_at", "cost"))


@pytest.mark.parametrize(
    ("name", "period", "limit"),
    [("daily", "daily", Decimal(10)), ("plain", "monthly", None), ("total", "total", 1000)],
)
def test_spend_in_the_keys_own_period_else_the_orgs(world, name, period, limit):
    now = timezone.now()
    usage = key_usage(_key(world, name), org_period="monthly", now=now)
    window = period_window(period, now)
    assert usage.window == window
    assert usage.limit == limit
    expected = sum(
        row["cost"]
        for row in _raw_rows(world, name)
        if window.start is None or row["started_at"] >= window.start
    )
    assert usage.spend == expected > 0


def test_the_sparkline_is_the_keys_spend_and_requests_per_utc_day(world):
    now = timezone.now()
    usage = key_usage(_key(world, "plain"), org_period="monthly", now=now)
    today = now.astimezone(UTC).date()
    assert [day.day for day in usage.days] == [
        today - timedelta(days=SPARKLINE_DAYS - 1 - n) for n in range(SPARKLINE_DAYS)
    ]
    requests, cost = defaultdict(int), defaultdict(Decimal)
    for row in _raw_rows(world, "plain"):
        day = row["started_at"].astimezone(UTC).date()
        requests[day] += 1
        cost[day] += row["cost"]
    for day in usage.days:
        assert (day.requests, day.cost) == (requests[day.day], cost[day.day]), day.day
    assert usage.days_requests == sum(requests[day.day] for day in usage.days)


def test_an_idle_key_has_nothing_to_show_but_30_empty_days(world):
    usage = key_usage(_key(world, "idle"), org_period="weekly")
    assert usage.window.period == "weekly"
    assert usage.spend == 0 and usage.days_requests == 0
    assert len(usage.days) == SPARKLINE_DAYS


def _page(client, world, name) -> str:
    client.force_login(User.objects.get(pk=world.owner_id))
    url = reverse("keys:detail", args=[world.slug, world.keys[name].public_id])
    return client.get(url).content.decode()


def test_the_page_shows_spend_against_the_budget_the_sparkline_and_last_use(client, world):
    key = _key(world, "daily")
    now = timezone.now()
    page = _page(client, world, "daily")
    usage = key_usage(key, org_period="monthly", now=now)
    assert f"<strong>{usd(usage.spend)}</strong>" in page
    assert "of its $10.00 daily budget" in page
    assert f"({usage.spend * 10:.0f}%)" in page
    section = page[page.index('id="section-usage"') : page.index('id="section-restrictions"')]
    assert section.count("<rect ") == SPARKLINE_DAYS
    # The text alternative and the table carry the same numbers as the bars.
    assert f"{usd(usage.days_cost)} in all" in section
    for day in usage.days:
        cells = f'<td>{day.day:%Y-%m-%d}</td><td class="num">{day.requests}</td>'
        assert f'{cells}<td class="num">{usd(day.cost)}</td>' in section
    # Last use: relative, the exact time on hover.
    assert key.last_used_at is not None
    exact = timezone.localtime(key.last_used_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert re.search(rf'title="{exact} UTC">(just now|\d+\xa0minutes? ago)</time>', section)
    # Nothing of the neighbour's costlier key.
    other = key_usage(_key(world, "other"), org_period="monthly")
    assert usd(other.days_cost) not in page


def test_a_key_without_a_budget_counts_in_the_orgs_period(client, world):
    page = _page(client, world, "plain")
    assert "Spend this month" in page
    assert "no key budget; counted in the organization's monthly period" in page
    idle = _page(client, world, "idle")
    assert "<strong>$0.00</strong>" in idle and ">never<" in idle


def test_the_query_count_is_the_same_for_an_idle_and_a_busy_key(client, world):
    _page(client, world, "idle")
    with CaptureQueriesContext(connection) as idle:
        _page(client, world, "idle")
    with CaptureQueriesContext(connection) as busy:
        _page(client, world, "total")  # every day since the key began, not 30
    assert len(idle) == len(busy)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal(0), "$0.00"),
        (Decimal("0.0042"), "$0.0042"),
        (Decimal("0.0000001"), "<$0.000001"),
        (Decimal("1234.5"), "$1,234.50"),
        (None, "$0.00"),
    ],
)
def test_dollars_read_as_dollars(value, text):
    assert usd(value) == text


def test_budget_periods_show_their_utc_days_in_any_viewer_zone(client, world):
    client.cookies[TIME_ZONE_COOKIE] = "America/Los_Angeles"
    page = _page(client, world, "plain")
    window = period_window("monthly", timezone.now())
    first, last = window.start.date(), (window.end - timedelta(days=1)).date()
    # Midnight UTC on the 1st is still the last day of the month before in Los Angeles.
    assert f"this period: {first:%Y-%m-%d} to {window.end:%Y-%m-%d} UTC" in page
    assert f"{first:%Y-%m-%d} to {last:%Y-%m-%d} UTC" in page
    assert "America/Los_Angeles" in page  # last use, on hover, in the viewer's zone
