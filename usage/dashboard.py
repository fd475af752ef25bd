"""Reads of the org overview (today's traffic, spend against the budget, top models, the latest
errors, the set-up checklist) and of a key's usage on its page: a fixed few queries each, the
figures from the rollups and only the latest errors from the raw logs."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone

from keys.models import VirtualKey
from members.models import Invitation
from orgs.access import OrgAccess
from orgs.models import Membership, Organization
from orgs.selectors import parse_stored
from usage.models import HourlyRollup, KeyDayRollup, RequestLog
from usage.selectors import PeriodWindow, money, org_period_spend, period_window

TOP_MODELS = 5
LATEST_ERRORS = 5
# The latest errors are looked for this far back (and no further: it bounds the log scan).
LATEST_ERRORS_WITHIN = timedelta(hours=24)
SPARKLINE_DAYS = 30


def _percent(part, whole) -> float | None:
    return float(part) * 100 / float(whole) if whole else None


def day_start(now: datetime, zone: tzinfo) -> datetime:
    """Midnight of `now`'s day in `zone`, as UTC, floored to the hour the rollups are kept by.

    In a zone whose offset is not whole hours (India, +05:30) "today" thus starts up to 45
    minutes before local midnight: the hourly rollups cannot split an hour."""
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date(), time(), tzinfo=zone).astimezone(UTC)
    return midnight.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class ModelUsage:
    model: str
    requests: int
    errors: int
    cost: Decimal


@dataclass(frozen=True)
class SetupChecklist:
    """What a new org still has to do before traffic flows (each True once done)."""

    provider: bool
    key: bool
    people: bool
    traffic: bool

    @property
    def complete(self) -> bool:
        return self.provider and self.key and self.people and self.traffic

    @property
    def done_count(self) -> int:
        return sum((self.provider, self.key, self.people, self.traffic))


@dataclass(frozen=True)
class OrgOverview:
    """The overview's figures: today (the viewer's day) and the current budget period."""

    day_start: datetime
    requests: int
    errors: int
    cost: Decimal
    top_models: list[ModelUsage]
    window: PeriodWindow
    period_spend: Decimal
    budget_enabled: bool
    # None: no limit set.
    budget_limit: Decimal | None
    latest_errors: list[RequestLog]
    errors_since: datetime
    checklist: SetupChecklist

    @property
    def error_rate(self) -> float | None:
        return _percent(self.errors, self.requests)

    @property
    def has_budget(self) -> bool:
        return self.budget_enabled and self.budget_limit is not None

    @property
    def budget_percent(self) -> float | None:
        return _percent(self.period_spend, self.budget_limit) if self.has_budget else None

    # The period's first and last UTC day (dates, so `|date` does not move them to the
    # viewer's zone); None for "total".
    @property
    def period_first_day(self) -> date | None:
        return self.window.start.date() if self.window.start else None

    @property
    def period_last_day(self) -> date | None:
        return (self.window.end - timedelta(days=1)).date() if self.window.end else None

    @property
    def budget_warn_at(self) -> Decimal | None:
        # Where the meter turns to a warning: the default alert threshold of 80%.
        return self.budget_limit * Decimal("0.8") if self.has_budget else None


def org_overview(access: OrgAccess, *, zone: tzinfo, now: datetime | None = None) -> OrgOverview:
    """Everything the overview shows, in four queries whatever the org's traffic: the config
    with the checklist, today's hourly rollups by model, the period's key-day rollups, and the
    five newest error logs of the last 24 hours."""
    now = now or timezone.now()
    organization = access.organization
    document, has_key, has_people, has_invitation, has_traffic = (
        Organization.objects.filter(pk=organization.pk)
        .annotate(
            has_key=Exists(VirtualKey.objects.filter(organization=OuterRef("pk"))),
            has_people=Exists(
                Membership.objects.filter(organization=OuterRef("pk")).exclude(
                    pk=access.membership.pk
                )
            ),
            has_invitation=Exists(
                Invitation.objects.filter(
                    organization=OuterRef("pk"),
                    accepted_at__isnull=True,
                    revoked_at__isnull=True,
                    expires_at__gt=now,
                )
            ),
            has_traffic=Exists(KeyDayRollup.objects.filter(organization=OuterRef("pk"))),
        )
        .values_list(
            "config_version__document", "has_key", "has_people", "has_invitation", "has_traffic"
        )
        .get()
    )
    config = parse_stored(document or {})
    budgets = config.budgets

    start = day_start(now, zone)
    models = [
        ModelUsage(model, requests or 0, errors or 0, money(cost))
        for model, requests, errors, cost in HourlyRollup.objects.filter(
            organization=organization, hour__gte=start
        )
        .values_list("model")
        .annotate(Sum("requests"), Sum("errors"), Sum("cost"))
        .order_by()
    ]
    models.sort(key=lambda usage: (-usage.requests, usage.model))

    window = period_window(budgets.period.value, now)
    period_spend = org_period_spend(organization, window)

    errors_since = now - LATEST_ERRORS_WITHIN
    latest_errors = list(
        RequestLog.objects.filter(organization=organization, started_at__gte=errors_since)
        .filter(Q(status_code__gte=400) | Q(status_code__lt=100))
        .select_related("key")
        .only(
            "id",
            "started_at",
            "model",
            "provider",
            "status_code",
            "error",
            "key__name",
            "key__public_id",
        )
        .order_by("-started_at", "-id")[:LATEST_ERRORS]
    )
    return OrgOverview(
        day_start=start,
        requests=sum(usage.requests for usage in models),
        errors=sum(usage.errors for usage in models),
        cost=sum((usage.cost for usage in models), Decimal(0)),
        top_models=models[:TOP_MODELS],
        window=window,
        period_spend=period_spend,
        budget_enabled=budgets.enabled,
        budget_limit=Decimal(str(budgets.limit)) if budgets.limit is not None else None,
        latest_errors=latest_errors,
        errors_since=errors_since,
        checklist=SetupChecklist(
            provider=bool(config.providers),
            key=has_key,
            people=has_people or has_invitation,
            traffic=has_traffic,
        ),
    )


@dataclass(frozen=True)
class DayUsage:
    day: date
    requests: int
    cost: Decimal


@dataclass(frozen=True)
class KeyUsage:
    """A key's spend in its budget period (its own, else the org's) and its last 30 UTC days."""

    window: PeriodWindow
    spend: Decimal
    # None: the key has no budget of its own.
    limit: Decimal | None
    days: list[DayUsage]

    @property
    def percent(self) -> float | None:
        return _percent(self.spend, self.limit) if self.limit is not None else None

    # The period's first and last UTC day (dates, so `|date` does not move them to the
    # viewer's zone); None for "total".
    @property
    def period_first_day(self) -> date | None:
        return self.window.start.date() if self.window.start else None

    @property
    def period_last_day(self) -> date | None:
        return (self.window.end - timedelta(days=1)).date() if self.window.end else None

    @property
    def days_requests(self) -> int:
        return sum(day.requests for day in self.days)

    @property
    def days_cost(self) -> Decimal:
        return sum((day.cost for day in self.days), Decimal(0))


def key_usage(key: VirtualKey, *, org_period: str, now: datetime | None = None) -> KeyUsage:
    """One query of the key's day rollups, since the earlier of its period's start and the
    first day of the sparkline (all of them for a "total" budget: at most the rollups'
    retention, 800 days)."""
    now = now or timezone.now()
    window = period_window(key.budget_period or org_period, now)
    today = now.astimezone(UTC).date()
    first_day = today - timedelta(days=SPARKLINE_DAYS - 1)
    rows = KeyDayRollup.objects.filter(organization_id=key.organization_id, key=key)
    if window.start is not None:
        rows = rows.filter(day__gte=min(window.start.date(), first_day))
    by_day = {
        day: (requests, money(cost))
        for day, requests, cost in rows.values_list("day", "requests", "cost")
    }
    since = window.start.date() if window.start is not None else None
    spend = sum(
        (cost for day, (_, cost) in by_day.items() if since is None or day >= since), Decimal(0)
    )
    days = []
    for offset in range(SPARKLINE_DAYS):
        day = first_day + timedelta(days=offset)
        requests, cost = by_day.get(day, (0, Decimal(0)))
        days.append(DayUsage(day, requests, cost))
    return KeyUsage(window=window, spend=spend, limit=key.budget_limit, days=days)
