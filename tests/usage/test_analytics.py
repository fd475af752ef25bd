"""Analytics: every figure equals the same aggregate over the raw request logs (totals, each bucket
of the series, the previous period, breakdowns with their "Other" row, p50/p95 from the latency
buckets), local days right across a daylight saving change, budget projections, never a figure
of another org, and a page whose query count does not grow with the org's keys, models or users.
"""

import csv
import io
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orgs.models import Organization
from orgs.roles import Role
from prism_site.errors import Invalid
from tests.factories import add_member, make_organization, make_user
from tests.keys.conftest import make_key, set_org_config
from tests.usage.conftest import KeyRef, _ref, log_row
from usage import charts
from usage.analytics import (
    TOP_N,
    BudgetUse,
    LatencyBound,
    analytics_summary,
    budget_status,
    dates_range,
    latency_percentile,
    preset_range,
)
from usage.analytics_views import chart_blocks, kpis
from usage.models import LATENCY_BUCKET_BOUNDS_MS, RequestLog, latency_bucket
from usage.selectors import PeriodWindow, period_window
from usage.services import logs_ingest

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
LATENCIES = (20, 60, 150, 250, 420, 700, 900, 1200, 1800, 2500, 4000, 6000, 9000, 15000, 25000)
LATENCIES += (45000,)
STATUSES = (200, 200, 200, 200, 201, 429, 500, 503, 0)


@dataclass(frozen=True)
class AnalyticsWorld:
    acme: int
    acme_slug: str
    rival: int
    delta: int
    delta_slug: str
    owls: int
    quiet_slug: str
    viewer_id: int
    delta_viewer_id: int
    quiet_viewer_id: int
    keys: dict[str, KeyRef]


def _ingest(rows: list[dict], now: datetime) -> None:
    result = logs_ingest(rows=rows, now=now)
    assert not result.rejected, result.rejected
    assert result.accepted == len(rows)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> AnalyticsWorld:
    """Acme (12 keys, 13 models on 3 providers, 15 users, ~900 requests over 62 days, three key
    budgets and a monthly org budget), Rival (the same hours, distinctive names and amounts),
    Delta (a few requests on two days), Owls (traffic around two daylight saving changes) and
    Quiet (no traffic), all sent through `logs_ingest`; built once, rolled back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        owner = make_user("analytics-owner@example.test")
        acme = make_organization("Acme Analytics", owner=owner)
        set_org_config(acme, {"budgets": {"enabled": True, "limit": 40, "period": "monthly"}})
        viewer = add_member(acme, Role.VIEWER, make_user("analytics-viewer@example.test"))
        keys = {}
        budgets = {0: (10, "monthly"), 1: (2, "daily"), 2: (5, "weekly")}
        for number in range(12):
            limit, period = budgets.get(number, (None, ""))
            attributes = {"budget_limit": limit, "budget_period": period} if limit else {}
            keys[f"key-{number:02d}"] = _ref(
                make_key(acme, owner, f"key-{number:02d}", **attributes).key
            )
        rival_owner = make_user("rival-owner@example.test")
        rival = make_organization("Rival Analytics", owner=rival_owner)
        keys["rival"] = _ref(make_key(rival, rival_owner, "rival-key").key)

        generator = random.Random(7)
        rows = []
        for number in range(900):
            started = NOW - timedelta(seconds=generator.randrange(62 * 24 * 3600))
            model = f"model-{generator.randrange(13):02d}"
            rows.append(
                log_row(
                    keys[f"key-{generator.randrange(12):02d}"],
                    started,
                    request_id=f"acme-{number}",
                    model=model,
                    provider=("openai", "anthropic", "mistral")[int(model[-2:]) % 3],
                    status_code=generator.choice(STATUSES),
                    latency_ms=generator.choice(LATENCIES),
                    input_tokens=generator.randrange(5000),
                    output_tokens=generator.randrange(2000),
                    cost=Decimal(generator.randrange(1, 90000)) / 10**6,
                    cache_hit=generator.random() < 0.2,
                    user=generator.choice(["", *(f"user-{n:02d}" for n in range(15))]),
                )
            )
            if number % 30 == 0:
                rows.append(
                    log_row(
                        keys["rival"],
                        started,
                        request_id=f"rival-{number}",
                        model="rival-secret-model",
                        provider="rivalcloud",
                        cost=Decimal("777.777"),
                        user="rival-user",
                        input_tokens=987654,
                    )
                )
        _ingest(rows, NOW)

        delta_owner = make_user("delta-owner@example.test")
        delta = make_organization("Delta Analytics", owner=delta_owner)
        delta_viewer = add_member(delta, Role.VIEWER, make_user("delta-viewer@example.test"))
        keys["delta"] = _ref(make_key(delta, delta_owner, "delta-main").key)
        make_key(delta, delta_owner, "delta-budget", budget_limit=1, budget_period="daily")
        delta_rows = [
            log_row(
                keys["delta"],
                NOW - timedelta(hours=30, minutes=n),
                request_id=f"delta-before-{n}",
                status_code=500 if n == 0 else 200,
                cost=Decimal("0.01"),
                cache_hit=n < 2,
            )
            for n in range(4)
        ] + [
            log_row(
                keys["delta"],
                NOW - timedelta(hours=3, minutes=n),
                request_id=f"delta-now-{n}",
                status_code=500 if n == 0 else 200,
                cost=Decimal("0.01"),
                cache_hit=n < 2,
            )
            for n in range(8)
        ]
        _ingest(delta_rows, NOW)

        owls_owner = make_user("owls-owner@example.test")
        owls = make_organization("Night Owls", owner=owls_owner)
        keys["owls"] = _ref(make_key(owls, owls_owner, "owls-main").key)
        _ingest(
            [log_row(keys["owls"], at, request_id=f"ny-{at:%d%H%M}") for at in NEW_YORK_HOURS],
            datetime(2026, 3, 10, tzinfo=UTC),
        )
        _ingest(
            [log_row(keys["owls"], at, request_id=f"paris-{at:%d%H%M}") for at in PARIS_HOURS],
            datetime(2026, 10, 27, tzinfo=UTC),
        )

        quiet_owner = make_user("quiet-owner@example.test")
        quiet = make_organization("Quiet Analytics", owner=quiet_owner)
        quiet_viewer = add_member(quiet, Role.VIEWER, make_user("quiet-viewer@example.test"))
        yield AnalyticsWorld(
            acme=acme.pk,
            acme_slug=acme.slug,
            rival=rival.pk,
            delta=delta.pk,
            delta_slug=delta.slug,
            owls=owls.pk,
            quiet_slug=quiet.slug,
            viewer_id=viewer.pk,
            delta_viewer_id=delta_viewer.pk,
            quiet_viewer_id=quiet_viewer.pk,
            keys=keys,
        )
        transaction.set_rollback(True)


# New York springs forward on 2026-03-08 at 02:00 (EST -5 → EDT -4): that local day has 23 hours,
# 05:00Z to 04:00Z the next day.
NEW_YORK_HOURS = (
    datetime(2026, 3, 8, 4, 30, tzinfo=UTC),  # Mar 7, 23:30 EST
    datetime(2026, 3, 8, 5, 30, tzinfo=UTC),  # Mar 8, 00:30 EST
    datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # Mar 8, 03:30 EDT (02:30 never happened)
    datetime(2026, 3, 9, 3, 30, tzinfo=UTC),  # Mar 8, 23:30 EDT (a fixed -5 would say Mar 8 22:30)
    datetime(2026, 3, 9, 4, 30, tzinfo=UTC),  # Mar 9, 00:30 EDT (a fixed -5 would say Mar 8)
)
# Paris falls back on 2026-10-25 at 03:00 (CEST +2 → CET +1): that local day has 25 hours,
# 22:00Z the day before to 23:00Z.
PARIS_HOURS = (
    datetime(2026, 10, 24, 21, 30, tzinfo=UTC),  # Oct 24, 23:30 CEST
    datetime(2026, 10, 24, 22, 30, tzinfo=UTC),  # Oct 25, 00:30 CEST
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # Oct 25, 02:30 CEST
    datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # Oct 25, 02:30 CET (the hour again)
    datetime(2026, 10, 25, 22, 30, tzinfo=UTC),  # Oct 25, 23:30 CET (a fixed +2 would say Oct 26)
    datetime(2026, 10, 25, 23, 30, tzinfo=UTC),  # Oct 26, 00:30 CET
)


# -- The same figures from the raw logs ---------------------------------------------------------


def _raw(organization_id: int, start: datetime, end: datetime, **filters) -> dict:
    rows = RequestLog.objects.filter(
        organization_id=organization_id, started_at__gte=start, started_at__lt=end, **filters
    )
    return _raw_sums(rows)


def _raw_sums(rows) -> dict:
    sums = rows.aggregate(
        requests=Count("pk"),
        errors=Count("pk", filter=Q(status_code__gte=400) | Q(status_code__lt=100)),
        cost=Sum("cost"),
        input_tokens=Sum("input_tokens"),
        output_tokens=Sum("output_tokens"),
        cache_hits=Count("pk", filter=Q(cache_hit=True)),
    )
    sums["cost"] = Decimal(str(sums["cost"] or 0)).quantize(Decimal("1e-10"))
    sums["input_tokens"] = sums["input_tokens"] or 0
    sums["output_tokens"] = sums["output_tokens"] or 0
    return sums


def _figures(totals) -> dict:
    return {
        "requests": totals.requests,
        "errors": totals.errors,
        "cost": totals.cost,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "cache_hits": totals.cache_hits,
    }


def _organization(pk: int) -> Organization:
    return Organization.objects.get(pk=pk)


def _nearest_rank_bucket(latencies: list[int], fraction: float) -> int:
    ordered = sorted(latencies)
    return latency_bucket(ordered[math.ceil(fraction * len(ordered)) - 1])


def _days_summary(world, zone=NEW_YORK, first=date(2026, 10, 22), last=date(2026, 11, 20)):
    start, end = dates_range(first, last, zone=zone)
    return analytics_summary(
        _organization(world.acme), start=start, end=end, zone=zone, bucket="day"
    )


# -- Totals, series, previous period ------------------------------------------------------------


def test_day_buckets_totals_and_previous_period_equal_the_raw_logs(world):
    summary = _days_summary(world)

    assert len(summary.series) == 30
    assert summary.series[0].start == datetime(2026, 10, 22, tzinfo=NEW_YORK)
    # Nov 1 is New York's fall-back day: 25 hours, and the buckets still tile the period.
    assert [point.duration for point in summary.series].count(timedelta(hours=25)) == 1
    for point in summary.series:
        assert _figures(point.totals) == _raw(world.acme, point.start, point.end), point.start
    assert _figures(summary.totals) == _raw(world.acme, summary.start, summary.end)
    assert summary.totals.requests > 300
    # The 30 local days before.
    assert summary.previous_start == datetime(2026, 9, 22, tzinfo=NEW_YORK)
    assert _figures(summary.previous) == _raw(world.acme, summary.previous_start, summary.start)
    assert summary.previous.requests > 100
    error_rate = summary.totals.errors / summary.totals.requests
    assert summary.totals.error_rate == error_rate
    assert summary.totals.cache_hit_rate == summary.totals.cache_hits / summary.totals.requests


def test_hour_buckets_equal_the_raw_logs(world):
    start, end = preset_range(7, now=NOW, zone=NEW_YORK, bucket="hour")
    assert end == datetime(2026, 11, 20, 16, tzinfo=UTC)  # the current hour included
    summary = analytics_summary(
        _organization(world.acme), start=start, end=end, zone=NEW_YORK, bucket="hour"
    )

    assert len(summary.series) == 7 * 24
    assert summary.series[-1].start == datetime(2026, 11, 20, 15, tzinfo=UTC)
    assert str(summary.series[-1].start.tzinfo) == "America/New_York"
    busy = [point for point in summary.series if point.totals.requests]
    assert len(busy) > 50
    for point in summary.series:
        assert _figures(point.totals) == _raw(world.acme, point.start, point.end), point.start
    assert _figures(summary.previous) == _raw(world.acme, start - timedelta(days=7), start)


def test_percentiles_are_the_upper_bounds_of_the_buckets_holding_them(world):
    summary = _days_summary(world)
    latencies = list(
        RequestLog.objects.filter(
            organization_id=world.acme, started_at__gte=summary.start, started_at__lt=summary.end
        ).values_list("latency_ms", flat=True)
    )

    assert summary.totals.p50 == LatencyBound(_nearest_rank_bucket(latencies, 0.50))
    assert summary.totals.p95 == LatencyBound(_nearest_rank_bucket(latencies, 0.95))
    for point in summary.series:
        day = list(
            RequestLog.objects.filter(
                organization_id=world.acme, started_at__gte=point.start, started_at__lt=point.end
            ).values_list("latency_ms", flat=True)
        )
        expected = LatencyBound(_nearest_rank_bucket(day, 0.95)) if day else None
        assert point.totals.p95 == expected


def test_latency_percentile_from_a_histogram():
    histogram = [0] * 16
    histogram[0], histogram[4], histogram[15] = 10, 9, 1  # ≤ 50 ms, ≤ 500 ms, > 30 s
    assert latency_percentile(tuple(histogram), 0.50).label == "≤ 50 ms"
    assert latency_percentile(tuple(histogram), 0.95).label == "≤ 500 ms"
    assert latency_percentile(tuple(histogram), 0.96).label == "> 30,000 ms"
    assert latency_percentile(tuple(histogram), 0.96).upper_ms is None
    assert latency_percentile(tuple(histogram), 0.96).plot_ms == LATENCY_BUCKET_BOUNDS_MS[-1]
    assert latency_percentile((0,) * 16, 0.5) is None
    # Nearest rank: of two requests, p50 is the first.
    histogram = [0] * 16
    histogram[1], histogram[6] = 1, 1
    assert latency_percentile(tuple(histogram), 0.50).upper_ms == 100
    assert latency_percentile(tuple(histogram), 0.95).upper_ms == 1000


def test_summary_refuses_periods_it_cannot_draw(world):
    organization = _organization(world.acme)
    with pytest.raises(Invalid) as error:
        analytics_summary(organization, start=NOW, end=NOW, zone=UTC, bucket="day")
    assert error.value.errors == {"end": ["must be after the start"]}
    with pytest.raises(Invalid) as error:
        analytics_summary(
            organization, start=NOW - timedelta(days=40), end=NOW, zone=UTC, bucket="hour"
        )
    assert error.value.errors == {"end": ["a period by the hour is at most 31 days"]}
    with pytest.raises(Invalid) as error:
        analytics_summary(organization, start=NOW, end=NOW, zone=UTC, bucket="week")
    assert "bucket" in error.value.errors


# -- Breakdowns --------------------------------------------------------------------------------


def _expected_breakdown(rows_by_label: dict[str, dict]) -> tuple[list, dict]:
    ordered = sorted(
        rows_by_label.items(), key=lambda item: (-item[1]["requests"], -item[1]["cost"], item[0])
    )
    top = ordered[:TOP_N]
    rest = {
        name: sum(figures[name] for _, figures in ordered[TOP_N:])
        for name in ("requests", "errors", "cost", "input_tokens", "output_tokens", "cache_hits")
    }
    return top, rest


def _check_breakdown(rows, grouped: dict[str, dict], value_of=lambda label: label):
    top, rest = _expected_breakdown(grouped)
    assert len(grouped) > TOP_N
    assert [row.value for row in rows[:TOP_N]] == [value_of(label) for label, _ in top]
    for row, (_, figures) in zip(rows, top, strict=False):
        assert _figures(row.totals) == figures
    other = rows[-1]
    assert other.is_other and other.value == ""
    assert _figures(other.totals) == {**rest, "cost": Decimal(rest["cost"])}
    assert len(rows) == TOP_N + 1


def _grouped(organization_id, field, **filters) -> dict[str, dict]:
    rows = RequestLog.objects.filter(organization_id=organization_id, **filters)
    return {
        value: _raw_sums(rows.filter(**{field: value}))
        for value in set(rows.values_list(field, flat=True))
    }


def test_breakdowns_equal_the_raw_logs_with_other_summing_the_rest(world):
    summary = _days_summary(world)
    period = {"started_at__gte": summary.start, "started_at__lt": summary.end}

    _check_breakdown(summary.by_model, _grouped(world.acme, "model", **period))
    providers = _grouped(world.acme, "provider", **period)
    assert [row.value for row in summary.by_provider] == sorted(
        providers, key=lambda name: (-providers[name]["requests"], -providers[name]["cost"], name)
    )
    for row in summary.by_provider:
        assert _figures(row.totals) == providers[row.value]

    # Keys and users: the whole UTC days the period touches.
    assert (summary.day_first, summary.day_last) == (date(2026, 10, 22), date(2026, 11, 21))
    days = {
        "started_at__gte": datetime(2026, 10, 22, tzinfo=UTC),
        "started_at__lt": datetime(2026, 11, 22, tzinfo=UTC),
    }
    names = {ref.public_id: name for name, ref in world.keys.items()}
    keys = _grouped(world.acme, "key__public_id", **days)
    _check_breakdown(summary.by_key, keys)
    assert [row.label for row in summary.by_key[:3]] == [
        names[row.value] for row in summary.by_key[:3]
    ]
    users = _grouped(world.acme, "end_user", **days)
    _check_breakdown(summary.by_user, users)
    assert all(row.label == (row.value or "(no user)") for row in summary.by_user[:TOP_N])


# -- Daylight saving --------------------------------------------------------------------------


def test_new_york_spring_forward_day_has_23_hours_and_its_own_traffic(world):
    start, end = dates_range(date(2026, 3, 7), date(2026, 3, 9), zone=NEW_YORK)
    summary = analytics_summary(
        _organization(world.owls), start=start, end=end, zone=NEW_YORK, bucket="day"
    )

    by_day = {point.start.date(): point for point in summary.series}
    assert list(by_day) == [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]
    assert by_day[date(2026, 3, 8)].duration == timedelta(hours=23)
    assert [by_day[day].totals.requests for day in by_day] == [1, 3, 1]


def test_paris_fall_back_day_has_25_hours_and_its_own_traffic(world):
    start, end = dates_range(date(2026, 10, 24), date(2026, 10, 26), zone=PARIS)
    summary = analytics_summary(
        _organization(world.owls), start=start, end=end, zone=PARIS, bucket="day"
    )

    by_day = {point.start.date(): point for point in summary.series}
    assert by_day[date(2026, 10, 25)].duration == timedelta(hours=25)
    assert [by_day[day].totals.requests for day in by_day] == [1, 4, 1]
    # By the hour, the repeated 02:00 shows twice, an hour apart in UTC.
    start, end = dates_range(date(2026, 10, 25), date(2026, 10, 25), zone=PARIS)
    hours = analytics_summary(
        _organization(world.owls), start=start, end=end, zone=PARIS, bucket="hour"
    ).series
    assert len(hours) == 25
    twos = [point for point in hours if point.start.hour == 2]
    assert [point.totals.requests for point in twos] == [1, 1]
    assert twos[1].start.astimezone(UTC) - twos[0].start.astimezone(UTC) == timedelta(hours=1)


# -- KPIs against the previous period ---------------------------------------------------------


def test_kpis_compare_with_the_period_before(world):
    start, end = preset_range(1, now=NOW, zone=UTC, bucket="hour")
    summary = analytics_summary(
        _organization(world.delta), start=start, end=end, zone=UTC, bucket="hour"
    )

    assert (summary.totals.requests, summary.previous.requests) == (8, 4)
    figures = {kpi.label: kpi for kpi in kpis(summary)}
    assert figures["Requests"].value == "8"
    assert figures["Requests"].change == "+100.0%"
    assert figures["Spend"].value == "$0.0800"
    assert figures["Spend"].change == "+100.0%"
    # 1 error in 8 against 1 in 4: down 12.5 points, which is good.
    assert figures["Error rate"].value == "12.5%"
    assert figures["Error rate"].change == "−12.5 pts"
    assert figures["Error rate"].verdict == "good"
    assert figures["Cache hit rate"].change == "−25.0 pts"
    assert figures["Cache hit rate"].verdict == "bad"
    assert figures["Latency p95"].value == "≤ 500 ms"
    assert figures["Latency p95"].change == "±0.0%"


# -- Budgets ----------------------------------------------------------------------------------


def test_projection_is_the_spend_so_far_carried_to_the_period_end():
    window = PeriodWindow(
        "monthly", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    use = BudgetUse(
        "web", "key_x", window, Decimal("5"), Decimal("12"), datetime(2026, 11, 11, tzinfo=UTC)
    )
    # $5 in 10 of 30 days: $15 by the end; $12 is reached after 12 / 0.5 = 24 days.
    assert use.projected == Decimal("15.00")
    assert use.over_on == datetime(2026, 11, 25, tzinfo=UTC)
    assert use.used == pytest.approx(5 / 12)
    assert not use.over

    within = BudgetUse("web", "", window, Decimal("3"), Decimal("12"), use.now)
    assert within.projected == Decimal("9.00")
    assert within.over_on is None
    over = BudgetUse("web", "", window, Decimal("13"), Decimal("12"), use.now)
    assert over.over and over.over_on is None
    total = BudgetUse("web", "", PeriodWindow("total", None, None), Decimal("3"), Decimal("9"), NOW)
    assert total.projected is None and total.over_on is None


def test_budget_status_equals_the_raw_spend_in_each_period(world, django_assert_num_queries):
    organization = _organization(world.acme)
    with django_assert_num_queries(4):
        status = budget_status(organization, now=NOW)

    month = period_window("monthly", NOW)
    raw_org = _raw(world.acme, month.start, month.end)["cost"]
    assert status.organization.spend == raw_org
    assert status.organization.limit == Decimal(40)
    assert status.organization.window == month
    assert status.budget_enabled
    by_name = {use.label: use for use in status.keys}
    assert sorted(by_name) == ["key-00", "key-01", "key-02"]
    for name, period in (("key-00", "monthly"), ("key-01", "daily"), ("key-02", "weekly")):
        window = period_window(period, NOW)
        expected = _raw(
            world.acme,
            window.start,
            window.end,
            key__public_id=world.keys[name].public_id,
        )["cost"]
        assert by_name[name].spend == expected, name
        assert by_name[name].window == window


# -- Isolation --------------------------------------------------------------------------------


def test_no_figure_of_another_org(world):
    summary = _days_summary(world, first=date(2026, 9, 20), last=date(2026, 11, 20))
    labels = {
        row.label
        for rows in (summary.by_model, summary.by_provider, summary.by_key, summary.by_user)
        for row in rows
    }
    assert not labels & {"rival-secret-model", "rivalcloud", "rival-key", "rival-user"}
    assert summary.totals.cost < 100  # Rival's requests each cost $777.777
    assert _figures(summary.totals) == _raw(world.acme, summary.start, summary.end)
    rival = analytics_summary(
        _organization(world.rival),
        start=summary.start,
        end=summary.end,
        zone=NEW_YORK,
        bucket="day",
    )
    assert [row.label for row in rival.by_model] == ["rival-secret-model"]


# -- The page ---------------------------------------------------------------------------------


def _page(client, slug: str, query: str = "", **headers):
    return client.get(
        f"{reverse('analytics:overview', kwargs={'slug': slug})}?{query}", headers=headers
    )


CUSTOM = "period=custom&from=2026-10-22&to=2026-11-20"


@pytest.fixture
def viewer_client(client, world):
    from members.models import User

    client.force_login(User.objects.get(pk=world.viewer_id))
    client.cookies["tz"] = "America/New_York"
    return client


def test_viewer_sees_kpis_charts_tables_breakdowns_and_budgets(viewer_client, world):
    response = _page(viewer_client, world.acme_slug, CUSTOM)

    assert response.status_code == 200
    page = response.content.decode()
    summary = _days_summary(world)
    assert f"{summary.totals.requests:,}" in page
    assert page.count('<svg class="chart"') == 4
    assert page.count("Data as a table") == 4
    assert "Times are in America/New_York" in page
    for chart in ("requests", "spend", "tokens", "latency"):
        assert f"format=csv&amp;chart={chart}" in page
    top_model = summary.by_model[0].value
    assert f"/o/{world.acme_slug}/logs/?range=30d&amp;model={top_model}" in page
    top_key = summary.by_key[0]
    assert f'?range=30d&amp;key={top_key.value}">{top_key.label}</a>' in page
    assert "Other models" in page and "Other keys" in page and "Other users" in page
    assert "Counted by whole UTC days" in page
    assert "At this rate:" in page
    for name in ("key-00", "key-01", "key-02"):
        assert name in page
    assert "≤ " in page  # the latency KPIs say they are bucket upper bounds


def test_an_address_naming_no_period_shows_the_default_period_chosen(viewer_client, world):
    page = _page(viewer_client, world.acme_slug).content.decode()

    assert '<option value="7d" selected>' in page
    assert '<option value="24h" selected>' not in page
    assert "Last 7 days" in page


def test_page_shows_nothing_of_another_org(viewer_client, world):
    page = _page(viewer_client, world.acme_slug, "period=custom&from=2026-09-20&to=2026-11-20")
    content = page.content.decode()
    assert page.status_code == 200
    for text in ("rival-secret-model", "rivalcloud", "rival-key", "rival-user", "777", "987,654"):
        assert text not in content


def test_chart_csv_is_the_series(viewer_client, world):
    response = _page(viewer_client, world.acme_slug, f"{CUSTOM}&format=csv&chart=requests")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "prism-analytics-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    summary = _days_summary(world)
    assert rows[0] == ["bucket_start", "bucket_end", "requests", "errors"]
    assert rows[1:] == [
        [
            point.start.isoformat(),
            point.end.isoformat(),
            str(point.totals.requests),
            str(point.totals.errors),
        ]
        for point in summary.series
    ]
    latency = _page(viewer_client, world.acme_slug, f"{CUSTOM}&format=csv&chart=latency")
    lines = list(csv.reader(io.StringIO(latency.content.decode())))
    assert lines[0][2:] == ["p50_ms_at_most", "p95_ms_at_most"]
    assert lines[1][3] == str(summary.series[0].totals.p95.upper_ms or "30000+")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=1y", "period: must be one of 24h, 7d, 30d, custom."),
        ("period=custom", "from: enter a date (YYYY-MM-DD) for a custom period."),
        ("period=custom&from=2026-02-30&to=2026-03-01", "from: enter a date as YYYY-MM-DD."),
        (
            "period=custom&from=2026-11-20&to=2026-11-01",
            "to: must be the same day as From or later.",
        ),
        ("period=custom&from=2020-01-01&to=2026-11-01", "from: usage is kept 800 days"),
        ("period=custom&from=2026-11-01&to=9999-12-31", "to: pick today"),
        ("period=30d&bucket=hour&format=csv", "chart: name the chart to export"),
        (
            "period=custom&from=2026-01-01&to=2026-11-01&bucket=hour",
            "bucket: hours are shown for at most 31 days",
        ),
        ("period=7d&bucket=week", "bucket: must be hour or day."),
        (
            "period=7d&format=csv&chart=pie",
            "chart: must be one of requests, spend, tokens, latency.",
        ),
    ],
)
def test_bad_choices_are_a_400_naming_the_field(viewer_client, world, query, message):
    response = _page(viewer_client, world.acme_slug, query)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_bad_choices_under_htmx_replace_the_charts_with_the_messages(viewer_client, world):
    response = _page(viewer_client, world.acme_slug, "period=1y", **{"HX-Request": "true"})

    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="analytics-body">')
    assert "period: must be one of" in content


def test_an_org_without_traffic_says_what_to_do(client, world):
    from members.models import User

    client.force_login(User.objects.get(pk=world.quiet_viewer_id))
    content = _page(client, world.quiet_slug).content.decode()

    assert "No traffic yet" in content
    assert "Send a request through the gateway" in content
    assert '<svg class="chart"' not in content


# The session and its user 2, the membership and its permissions 2, the summary 6, the budgets 4,
# the organization switcher 1, the budget alert banner 1.
PAGE_QUERIES = 16


def test_page_queries_do_not_grow_with_keys_models_or_users(
    client, world, django_assert_max_num_queries
):
    """Delta has 2 keys, 1 model, no user, 1 key budget; Acme 12 keys, 13 models, 16 users and
    3 key budgets, each with up to 900 requests."""
    from members.models import User

    counts = []
    for viewer_id, slug in (
        (world.delta_viewer_id, world.delta_slug),
        (world.viewer_id, world.acme_slug),
    ):
        client.force_login(User.objects.get(pk=viewer_id))
        _page(client, slug, CUSTOM)  # a session's first visit also records the org it opened
        with (
            django_assert_max_num_queries(PAGE_QUERIES),
            CaptureQueriesContext(connection) as queries,
        ):
            assert _page(client, slug, CUSTOM).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# -- Chart geometry ---------------------------------------------------------------------------


def test_chart_ticks_are_round_and_gaps_break_the_line():
    chart = charts.line_chart(
        [charts.Series("p95", [120, None, 480, 500], 1)], ["a", "b", "c", "d"], charts.ms_label
    )

    assert [tick.label for tick in chart.y_ticks] == ["0 ms", "200 ms", "400 ms", "600 ms"]
    assert chart.y_ticks[0].position == charts.BOTTOM
    assert chart.y_ticks[-1].position == charts.TOP
    (line,) = chart.series
    assert len(line.segments) == 2 and len(line.dots) == 3
    empty = charts.line_chart(
        [charts.Series("requests", [0, 0], 1)], ["a", "b"], charts.count_label
    )
    assert [tick.label for tick in empty.y_ticks] == ["0", "1"]


def test_hour_axis_labels_local_days_in_a_zone_half_an_hour_off_utc(world):
    kolkata = ZoneInfo("Asia/Kolkata")
    start, end = preset_range(7, now=NOW, zone=kolkata, bucket="hour")
    summary = analytics_summary(
        _organization(world.owls), start=start, end=end, zone=kolkata, bucket="hour"
    )

    assert summary.series[0].start.minute == 30
    chart = chart_blocks(summary, {})[0]["chart"]
    assert [tick.label for tick in chart.x_ticks] == [
        "Nov 14", "Nov 15", "Nov 16", "Nov 17", "Nov 18", "Nov 19", "Nov 20"
    ]  # fmt: skip
