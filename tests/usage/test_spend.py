"""spend_summary: each org and key in its current UTC calendar period, from the rollups."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from keys.models import VirtualKey
from orgs.models import Organization
from prism_site.errors import Invalid
from tests.keys.conftest import set_org_config
from tests.usage.conftest import log_row
from usage.selectors import PeriodWindow, period_window, spend_summary
from usage.services import logs_ingest

pytestmark = pytest.mark.django_db


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "now", "start", "end"),
    [
        ("daily", utc(2026, 12, 2, 0, 0), utc(2026, 12, 2), utc(2026, 12, 3)),
        ("daily", utc(2026, 12, 2, 23, 59, 59), utc(2026, 12, 2), utc(2026, 12, 3)),
        # Sunday night is still the week that began on Monday.
        ("weekly", utc(2026, 12, 6, 23, 59), utc(2026, 11, 30), utc(2026, 12, 7)),
        ("weekly", utc(2026, 12, 7, 0, 0), utc(2026, 12, 7), utc(2026, 12, 14)),
        # 01:00 in Moscow on Monday is 22:00 UTC on Sunday: the UTC week counts.
        (
            "weekly",
            datetime(2026, 12, 7, 1, 0, tzinfo=timezone(timedelta(hours=3))),
            utc(2026, 11, 30),
            utc(2026, 12, 7),
        ),
        ("monthly", utc(2026, 12, 31, 23, 59), utc(2026, 12, 1), utc(2027, 1, 1)),
        ("monthly", utc(2027, 1, 1, 0, 0), utc(2027, 1, 1), utc(2027, 2, 1)),
        ("monthly", utc(2028, 2, 29, 12, 0), utc(2028, 2, 1), utc(2028, 3, 1)),
        ("total", utc(2026, 12, 2), None, None),
    ],
)
def test_period_windows_are_utc_calendar_periods(period, now, start, end):
    assert period_window(period, now) == PeriodWindow(period, start, end)


def test_an_unknown_period_is_refused():
    with pytest.raises(ValueError, match="period: must be one of daily, weekly, monthly, total"):
        period_window("yearly", utc(2026, 12, 2))
    with pytest.raises(Invalid) as refused:
        spend_summary(period="yearly")
    assert refused.value.errors == {
        "period": ["must be one of daily, weekly, monthly, total, not 'yearly'"]
    }


# Monday 7 December 2026, 10:00 UTC.
MONDAY = utc(2026, 12, 7, 10, 0)


def spend_at(world, moments_and_costs, key):
    logs_ingest(
        rows=[log_row(key, moment, cost=cost) for moment, cost in moments_and_costs],
        now=MONDAY,
    )


def test_org_and_key_spend_in_their_own_periods(world, django_assert_max_num_queries):
    acme = Organization.objects.get(pk=world.acme)
    set_org_config(acme, {"budgets": {"enabled": True, "limit": 100, "period": "weekly"}})
    spend_at(
        world,
        [
            (utc(2026, 11, 30, 0, 0), 1),  # the Monday before: last week
            (utc(2026, 12, 6, 23, 59), 2),  # Sunday: last week
            (utc(2026, 12, 7, 0, 0), 4),  # Monday 00:00: this week, and today
            (utc(2026, 12, 7, 9, 0), 8),
        ],
        world.acme_main,
    )
    # The daily-budget key: yesterday's spend is not today's.
    spend_at(world, [(utc(2026, 12, 6, 12), 16), (utc(2026, 12, 7, 1), 32)], world.acme_daily)
    # Other Corp has no config: monthly, everything since 1 December.
    spend_at(world, [(utc(2026, 11, 30, 23), 64), (utc(2026, 12, 1, 0), 128)], world.other_main)

    # Orgs, keys; a per-key sum for each of the 3 periods in use (weekly, daily, monthly); by
    # model and by user for each of the orgs' 2 periods.
    with django_assert_max_num_queries(2 + 3 + 2 * 2):
        summary = spend_summary(now=MONDAY)

    acme_spend = summary.organization("acme-ai")
    assert acme_spend.organization_id == world.acme
    assert acme_spend.window == PeriodWindow("weekly", utc(2026, 12, 7), utc(2026, 12, 14))
    assert (acme_spend.spend, acme_spend.limit, acme_spend.budget_enabled) == (
        Decimal(4 + 8 + 32),
        Decimal(100),
        True,
    )
    main = acme_spend.keys[world.acme_main.public_id]
    assert (main.window.period, main.spend, main.limit) == ("weekly", Decimal(12), None)
    daily = acme_spend.keys[world.acme_daily.public_id]
    assert (daily.window, daily.spend, daily.limit) == (
        PeriodWindow("daily", utc(2026, 12, 7), utc(2026, 12, 8)),
        Decimal(32),
        Decimal(10),
    )
    assert acme_spend.by_model == {"gpt-4o": Decimal(44)}
    assert acme_spend.by_user == {"": Decimal(44)}

    other = summary.organization("other-corp")
    assert (other.window.period, other.spend, other.limit) == ("monthly", Decimal(128), None)
    assert other.keys[world.other_main.public_id].spend == Decimal(128)


def test_a_total_period_counts_all_time_and_one_period_can_be_asked_for_everyone(world):
    acme = Organization.objects.get(pk=world.acme)
    set_org_config(acme, {"budgets": {"enabled": True, "limit": 100, "period": "total"}})
    spend_at(world, [(MONDAY - timedelta(days=60), 1), (MONDAY, 2)], world.acme_main)

    assert spend_summary(now=MONDAY).organization("acme-ai").spend == Decimal(3)
    daily = spend_summary(now=MONDAY, period="daily").organization("acme-ai")
    assert (daily.window.period, daily.spend) == ("daily", Decimal(2))
    assert daily.keys[world.acme_daily.public_id].window.period == "daily"


def test_keys_without_spend_or_budget_are_left_out_and_queries_do_not_grow(
    world, django_assert_max_num_queries
):
    acme = Organization.objects.get(pk=world.acme)
    VirtualKey.objects.bulk_create(
        VirtualKey(
            organization=acme,
            public_id=f"key_bulk{i:04d}",
            name=f"bulk {i}",
            secret_hash=f"{i:064x}",
            secret_prefix="sk-prism-bulk",
            secret_last4=f"{i:04d}"[-4:],
            budget_limit=Decimal(5) if i % 2 else None,
            budget_period="monthly" if i % 2 else "",
        )
        for i in range(200)
    )
    with django_assert_max_num_queries(8):
        summary = spend_summary(now=MONDAY)
    keys = summary.organization("acme-ai").keys
    # The 100 with a budget, and the daily-budget key of the module's data.
    assert len(keys) == 101
    assert all(key.spend == 0 for key in keys.values())
