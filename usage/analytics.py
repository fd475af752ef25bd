"""Analytics reads: one org's traffic over a period, bucketed by hour or by the viewer's local day,
its breakdowns and budgets, from the usage rollups only (never the request logs).

Charts and KPIs come from HourlyRollup (UTC hours): a day bucket is the hours whose start falls
in that local day, grouped by the database in the viewer's zone, so a day across a daylight
saving change holds 23 or 25 hours. The key and user breakdowns come from the day rollups, which
are UTC days: they count the whole UTC days the period touches (`AnalyticsSummary.day_first`,
`day_last`). A fixed number of queries whatever the number of hours, models, keys or users.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from django.db.models import F, Q, Sum
from django.db.models.functions import TruncDay

from keys.models import VirtualKey
from orgs.models import Organization
from orgs.selectors import organization_config
from prism_site.errors import Invalid
from usage.models import (
    COUNTER_FIELDS,
    LATENCY_BUCKET_BOUNDS_MS,
    LATENCY_BUCKET_FIELDS,
    HourlyRollup,
    KeyDayRollup,
    UserDayRollup,
)
from usage.selectors import PeriodWindow, money, org_period_spend, period_window

BUCKETS = ("hour", "day")
# Rows each breakdown shows before "Other" sums the rest.
TOP_N = 10
# Hour buckets over a longer period would draw more points than a chart can show.
MAX_HOUR_BUCKET_DAYS = 31
MAX_DAYS = 366

_HOUR = timedelta(hours=1)


# -- Figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LatencyBound:
    """A latency percentile read from the histogram: the upper bound of the bucket it falls in
    (every request of that bucket took at most that long), or past the last bound."""

    bucket: int

    @property
    def upper_ms(self) -> int | None:
        """The bucket's upper bound in ms; None for the last bucket, which has none."""
        if self.bucket < len(LATENCY_BUCKET_BOUNDS_MS):
            return LATENCY_BUCKET_BOUNDS_MS[self.bucket]
        return None

    @property
    def plot_ms(self) -> int:
        """Where a chart draws it: the last bucket at the last bound."""
        return self.upper_ms or LATENCY_BUCKET_BOUNDS_MS[-1]

    @property
    def label(self) -> str:
        if self.upper_ms is None:
            return f"> {LATENCY_BUCKET_BOUNDS_MS[-1]:,} ms"
        return f"≤ {self.upper_ms:,} ms"


def latency_percentile(histogram: tuple[int, ...], fraction: float) -> LatencyBound | None:
    """The bucket holding the request of rank ⌈fraction × n⌉ (nearest rank); None without any."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return LatencyBound(index)
    return LatencyBound(len(histogram) - 1)


@dataclass(frozen=True)
class Totals:
    """The rollup counters summed over some rows; the histogram only where the rows have one."""

    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost: Decimal = Decimal(0)
    latency_sum_ms: int = 0
    cache_hits: int = 0
    fallbacks: int = 0
    histogram: tuple[int, ...] = ()

    @classmethod
    def from_row(cls, row: dict) -> "Totals":
        return cls(
            **{name: int(row.get(name) or 0) for name in COUNTER_FIELDS if name != "cost"},
            cost=money(row.get("cost")),
            histogram=tuple(int(row.get(name) or 0) for name in LATENCY_BUCKET_FIELDS)
            if LATENCY_BUCKET_FIELDS[0] in row
            else (),
        )

    def __add__(self, other: "Totals") -> "Totals":
        histogram = self.histogram or other.histogram
        if self.histogram and other.histogram:
            histogram = tuple(a + b for a, b in zip(self.histogram, other.histogram, strict=True))
        return Totals(
            **{
                name: getattr(self, name) + getattr(other, name)
                for name in COUNTER_FIELDS
                if name != "cost"
            },
            cost=self.cost + other.cost,
            histogram=histogram,
        )

    def __sub__(self, other: "Totals") -> "Totals":
        return Totals(
            **{
                name: getattr(self, name) - getattr(other, name)
                for name in COUNTER_FIELDS
                if name != "cost"
            },
            cost=self.cost - other.cost,
        )

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def cache_hit_rate(self) -> float | None:
        return self.cache_hits / self.requests if self.requests else None

    @property
    def p50(self) -> LatencyBound | None:
        return latency_percentile(self.histogram, 0.50)

    @property
    def p95(self) -> LatencyBound | None:
        return latency_percentile(self.histogram, 0.95)


@dataclass(frozen=True)
class Bucket:
    """One point of the time series: [start, end) in the viewer's zone."""

    start: datetime
    end: datetime
    totals: Totals

    @property
    def duration(self) -> timedelta:
        """23 or 25 hours for a day across a daylight saving change (aware datetimes of one zone
        subtract as wall-clock times, so in UTC)."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)


@dataclass(frozen=True)
class BreakdownRow:
    """One model, key, provider or user; `value` is what the Logs filter takes ("" for none),
    `is_other` marks the row summing everything past the top N."""

    label: str
    value: str
    totals: Totals
    is_other: bool = False


@dataclass(frozen=True)
class AnalyticsSummary:
    organization_id: int
    start: datetime
    end: datetime
    zone: tzinfo
    bucket: str
    totals: Totals
    # The period of the same length just before (the same number of local days for day buckets).
    previous_start: datetime
    previous: Totals
    series: list[Bucket]
    by_model: list[BreakdownRow]
    by_provider: list[BreakdownRow]
    by_key: list[BreakdownRow]
    by_user: list[BreakdownRow]
    # The UTC days the key and user breakdowns count (both included).
    day_first: date
    day_last: date
    # False until the org's first request: the page then says how to send one.
    has_traffic: bool


# -- Periods ----------------------------------------------------------------------------------


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The start of a local day, in UTC (zoneinfo picks the offset in force then)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def preset_range(
    days: int, *, now: datetime, zone: tzinfo, bucket: str
) -> tuple[datetime, datetime]:
    """The last `days` days up to now: by the hour, the last days × 24 hours ending with the
    current hour; by the day, today and the local days before it, whole."""
    if bucket == "hour":
        end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + _HOUR
        return end - timedelta(days=days), end
    today = now.astimezone(zone).date()
    return local_midnight(today - timedelta(days=days - 1), zone), local_midnight(
        today + timedelta(days=1), zone
    )


def dates_range(first: date, last: date, *, zone: tzinfo) -> tuple[datetime, datetime]:
    """The local days first to last, both included."""
    return local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)


def _aligned(start: datetime, end: datetime, zone: tzinfo, bucket: str):
    if bucket == "hour":
        start = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        floor = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return start, floor if floor == end else floor + _HOUR
    first = start.astimezone(zone).date()
    last_moment = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return dates_range(first, last_moment, zone=zone)


def _previous_start(start: datetime, end: datetime, zone: tzinfo, bucket: str) -> datetime:
    if bucket == "hour":
        return start - (end - start)
    first = start.astimezone(zone).date()
    days = (end.astimezone(zone).date() - first).days
    return local_midnight(first - timedelta(days=days), zone)


def _day_buckets(start: datetime, end: datetime, zone: tzinfo) -> list[tuple[datetime, datetime]]:
    first = start.astimezone(zone).date()
    days = (end.astimezone(zone).date() - first).days
    edges = [local_midnight(first + timedelta(days=n), zone) for n in range(days + 1)]
    return list(zip(edges, edges[1:], strict=False))


def _hour_buckets(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    hours = int((end - start) / _HOUR)
    return [(start + n * _HOUR, start + (n + 1) * _HOUR) for n in range(hours)]


# -- The summary ------------------------------------------------------------------------------


# Built once: each query copies them, and a copy keeps the expression's computed identity, which
# Django otherwise works out again for every one of the 25 sums of every query (about a tenth of
# the page's time).
_COUNTER_SUMS = {name: Sum(name) for name in COUNTER_FIELDS}
_HISTOGRAM_SUMS = {**_COUNTER_SUMS, **{name: Sum(name) for name in LATENCY_BUCKET_FIELDS}}


def _sums(*, histogram: bool) -> dict:
    return dict(_HISTOGRAM_SUMS if histogram else _COUNTER_SUMS)


def _top(rows: list[BreakdownRow], total: Totals, other_label: str) -> list[BreakdownRow]:
    """The first TOP_N rows (already ordered) and one "Other" row with the rest of `total`."""
    top = rows[:TOP_N]
    shown = sum((row.totals for row in top), Totals())
    rest = total - shown
    if rows[TOP_N:] or rest.requests or rest.cost:
        top.append(BreakdownRow(other_label, "", rest, is_other=True))
    return top


def _ranked(groups: dict[str, Totals]) -> list[BreakdownRow]:
    rows = [BreakdownRow(label, label, totals) for label, totals in groups.items()]
    rows.sort(key=lambda row: (-row.totals.requests, -row.totals.cost, row.label))
    return rows


def analytics_summary(
    organization: Organization, *, start: datetime, end: datetime, zone: tzinfo, bucket: str
) -> AnalyticsSummary:
    """The org's traffic in [start, end): totals, the same for the period before, the series by
    hour (UTC hours, shown in `zone`) or by local day of `zone`, and the top models, providers,
    keys and users with an "Other" row. `start` and `end` are widened to whole buckets.

    Six queries (seven when the period is empty), whatever the size of the period or the number
    of models, keys and users.
    """
    if bucket not in BUCKETS:
        raise Invalid(errors={"bucket": [f"must be one of {', '.join(BUCKETS)}"]})
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid(errors={"start": ["start and end need a time zone"]})
    if end <= start:
        raise Invalid(errors={"end": ["must be after the start"]})
    longest = timedelta(days=MAX_HOUR_BUCKET_DAYS if bucket == "hour" else MAX_DAYS)
    if end - start > longest + _HOUR:
        raise Invalid(errors={"end": [f"a period by the {bucket} is at most {longest.days} days"]})
    start, end = _aligned(start, end, zone, bucket)
    previous_start = _previous_start(start, end, zone, bucket)
    hourly = HourlyRollup.objects.filter(organization=organization)

    in_period = hourly.filter(hour__gte=start, hour__lt=end)
    if bucket == "hour":
        edges = _hour_buckets(start, end)
        grouped = in_period.values(point=F("hour"))
    else:
        edges = _day_buckets(start, end, zone)
        grouped = in_period.annotate(point=TruncDay("hour", tzinfo=zone)).values("point")
    by_point = {}
    for row in grouped.annotate(**_sums(histogram=True)).order_by("point"):
        point = row["point"]
        key = point.astimezone(zone).date() if bucket == "day" else point.astimezone(UTC)
        by_point[key] = Totals.from_row(row)
    series = []
    for bucket_start, bucket_end in edges:
        key = bucket_start.astimezone(zone).date() if bucket == "day" else bucket_start
        series.append(
            Bucket(
                bucket_start.astimezone(zone),
                bucket_end.astimezone(zone),
                by_point.get(key, Totals(histogram=(0,) * len(LATENCY_BUCKET_FIELDS))),
            )
        )
    totals = sum((point.totals for point in series), Totals())
    previous = Totals.from_row(
        hourly.filter(hour__gte=previous_start, hour__lt=start).aggregate(**_sums(histogram=True))
    )

    models: dict[str, Totals] = {}
    providers: dict[str, Totals] = {}
    for row in in_period.values("model", "provider").annotate(**_sums(histogram=False)):
        pair = Totals.from_row(row)
        models[row["model"]] = models.get(row["model"], Totals()) + pair
        providers[row["provider"]] = providers.get(row["provider"], Totals()) + pair

    # The day rollups: every UTC day the period touches.
    day_first = start.astimezone(UTC).date()
    day_last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    days = {"organization": organization, "day__gte": day_first, "day__lte": day_last}
    day_totals = Totals.from_row(
        KeyDayRollup.objects.filter(**days).aggregate(**_sums(histogram=False))
    )
    order = ("-requests", "-cost")
    key_rows = [
        BreakdownRow(row["key__name"], row["key__public_id"], Totals.from_row(row))
        for row in KeyDayRollup.objects.filter(**days)
        .values("key_id", "key__name", "key__public_id")
        .annotate(**_sums(histogram=False))
        .order_by(*order, "key__name", "key_id")[: TOP_N + 1]
    ]
    user_rows = [
        BreakdownRow(row["end_user"] or "(no user)", row["end_user"], Totals.from_row(row))
        for row in UserDayRollup.objects.filter(**days)
        .values("end_user")
        .annotate(**_sums(histogram=False))
        .order_by(*order, "end_user")[: TOP_N + 1]
    ]

    has_traffic = bool(totals.requests or previous.requests or day_totals.requests)
    if not has_traffic:
        has_traffic = hourly.exists()
    return AnalyticsSummary(
        organization_id=organization.pk,
        start=start.astimezone(zone),
        end=end.astimezone(zone),
        zone=zone,
        bucket=bucket,
        totals=totals,
        previous_start=previous_start.astimezone(zone),
        previous=previous,
        series=series,
        by_model=_top(_ranked(models), totals, "Other models"),
        by_provider=_top(_ranked(providers), totals, "Other providers"),
        # Each request is in one key's and one user's ("" when none) day row: the same total.
        by_key=_top(key_rows, day_totals, "Other keys"),
        by_user=_top(user_rows, day_totals, "Other users"),
        day_first=day_first,
        day_last=day_last,
        has_traffic=has_traffic,
    )


# -- Budgets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetUse:
    """Spend in a budget's current period against its limit, and where the current rate leads.

    The projection is linear: spend so far divided by the time elapsed since the period began,
    carried to the period's end. A "total" budget has no end, so no projection."""

    label: str
    # The key's public id; "" for the org's budget.
    public_id: str
    window: PeriodWindow
    spend: Decimal
    limit: Decimal
    now: datetime

    @property
    def used(self) -> float | None:
        return float(self.spend / self.limit) if self.limit else None

    @property
    def projected(self) -> Decimal | None:
        """The spend at the period's end at the current rate."""
        if self.window.start is None or self.window.end is None:
            return None
        elapsed = (self.now - self.window.start).total_seconds()
        length = (self.window.end - self.window.start).total_seconds()
        if elapsed <= 0:
            return None
        return (self.spend * Decimal(length) / Decimal(elapsed)).quantize(Decimal("0.01"))

    @property
    def over_on(self) -> datetime | None:
        """When the current rate reaches the limit, if that is before the period's end; the
        period's start plus limit ÷ rate. None when already over or never within the period."""
        if self.window.start is None or self.window.end is None or self.spend <= 0:
            return None
        if self.spend >= self.limit:
            return None
        elapsed = Decimal((self.now - self.window.start).total_seconds())
        seconds = float(self.limit * elapsed / self.spend)
        when = self.window.start + timedelta(seconds=seconds)
        return when if when < self.window.end else None

    @property
    def over(self) -> bool:
        return self.spend > 0 and self.spend >= self.limit


@dataclass(frozen=True)
class BudgetStatus:
    # None: the org has no budget limit in its config.
    organization: BudgetUse | None
    organization_window: PeriodWindow
    organization_spend: Decimal
    budget_enabled: bool
    keys: list[BudgetUse] = field(default_factory=list)


_PERIOD_NAMES = ("daily", "weekly", "monthly")


def budget_status(organization: Organization, *, now: datetime) -> BudgetStatus:
    """The org's spend in its budget period against the config's limit, and every unrevoked key
    with a budget against its own: four queries whatever the number of keys (the config, the
    org's spend, the keys, their spend in each kind of period at once)."""
    budgets = organization_config(organization).budgets
    org_window = period_window(budgets.period.value, now)
    windows = {name: period_window(name, now) for name in _PERIOD_NAMES}
    org_spend = org_period_spend(organization, org_window)
    rollups = KeyDayRollup.objects.filter(organization=organization)
    keys = list(
        VirtualKey.objects.filter(
            organization=organization, budget_limit__isnull=False, revoked_at__isnull=True
        )
        .order_by("name", "pk")
        .only("pk", "name", "public_id", "budget_limit", "budget_period")
    )
    spend_by_key: dict[int, dict[str, Decimal]] = {}
    if keys:
        # One row per key, its spend since the start of each kind of period.
        period_sums = {
            name: Sum("cost", filter=Q(day__gte=window.start.date()))
            for name, window in windows.items()
        }
        rows = (
            rollups.filter(key__in=[key.pk for key in keys])
            .values("key_id")
            .annotate(total=Sum("cost"), **period_sums)
            .order_by()
        )
        spend_by_key = {
            row["key_id"]: {name: money(row[name]) for name in (*_PERIOD_NAMES, "total")}
            for row in rows
        }
    key_uses = [
        BudgetUse(
            label=key.name,
            public_id=key.public_id,
            window=period_window(key.budget_period, now),
            spend=spend_by_key.get(key.pk, {}).get(key.budget_period, money(0)),
            limit=key.budget_limit,
            now=now,
        )
        for key in keys
    ]
    org_use = None
    if budgets.limit is not None:
        org_use = BudgetUse(
            label=organization.name,
            public_id="",
            window=org_window,
            spend=org_spend,
            limit=Decimal(str(budgets.limit)),
            now=now,
        )
    return BudgetStatus(
        organization=org_use,
        organization_window=org_window,
        organization_spend=org_spend,
        budget_enabled=budgets.enabled,
        keys=key_uses,
    )
