"""The admin API's request logs and analytics of one org: the Logs page's filters over the same
selectors (every query bounded by a time range, keyset pages, no OFFSET) and the Analytics
page's figures from the rollups."""

import logging
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from orgs.api_access import api_organization
from orgs.roles import Capability
from prism_site.api_errors import ADMIN_ERRORS, ApiError
from prism_site.timezones import zone_label, zone_named
from usage import selectors
from usage.analytics import Totals, analytics_summary, budget_status
from usage.analytics_forms import DEFAULT_PERIOD, AnalyticsForm
from usage.forms import LogFilterForm
from usage.models import RequestLog

logger = logging.getLogger("usage.api")

router = Router(tags=["usage"])

LOGS_PAGE_SIZE = 50


class LogKeyOut(Schema):
    id: str
    name: str


class LogOut(Schema):
    id: int
    request_id: str
    started_at: datetime
    key: LogKeyOut
    model: str
    provider: str
    status_code: int
    latency_ms: int
    ttft_ms: int | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost: str  # USD as a decimal string, exact (10 places)
    cache_hit: bool
    fallback_used: bool
    user: str
    session_id: str
    error: str
    metadata: dict[str, Any]


class LogList(Schema):
    data: list[LogOut]
    next_cursor: str | None


class LogFilters(Schema):
    """The Logs page's filters, by the same names (its URL's query is a valid query here)."""

    range: str | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    key: str | None = None
    model: str | None = None
    provider: str | None = None
    status: str | None = None
    errors_only: bool = False
    min_latency: str | None = None
    min_cost: str | None = None
    max_cost: str | None = None
    request_id: str | None = None
    user: str | None = None
    session: str | None = None
    meta: str | None = None


def log_out(log: RequestLog) -> dict:
    return {
        "id": log.pk,
        "request_id": log.request_id,
        "started_at": log.started_at,
        "key": {"id": log.key.public_id, "name": log.key.name},
        "model": log.model,
        "provider": log.provider,
        "status_code": log.status_code,
        "latency_ms": log.latency_ms,
        "ttft_ms": log.ttft_ms,
        "input_tokens": log.input_tokens,
        "output_tokens": log.output_tokens,
        "cached_tokens": log.cached_tokens,
        "cost": str(log.cost),
        "cache_hit": log.cache_hit,
        "fallback_used": log.fallback_used,
        "user": log.end_user,
        "session_id": log.session_id,
        "error": log.error,
        "metadata": log.metadata or {},
    }


def _form_invalid(form) -> ApiError:
    """422 naming the first bad filter and every problem (the form's messages name their field)."""
    problems = [(field, message) for field, messages in form.errors.items() for message in messages]
    return ApiError(
        422,
        "invalid",
        "; ".join(
            message if message.startswith(f"{field}:") else f"{field}: {message}"
            for field, message in problems
        ),
        param=problems[0][0] if problems else None,
    )


@router.get(
    "orgs/{org_id}/logs",
    url_name="org-logs",
    response={200: LogList, **ADMIN_ERRORS},
    summary="List the org's request logs, newest first, filtered as on the Logs page",
)
def log_list(request, org_id: str, filters: Query[LogFilters], cursor: str | None = None):
    """`range`: 1h, 24h (the default), 7d, 30d, or `custom` with `from` and `to` (ISO 8601; UTC
    without an offset; at most 31 days, no `to` is up to now). It bounds every read. The other
    filters narrow it: `key` (key_…), `model`, `provider`, `status` (2xx, 4xx, 5xx),
    `errors_only`, `min_latency` (ms), `min_cost` and `max_cost` (USD), `request_id`, `user`,
    `session`, `meta` (`name=value`). 50 a page; pass `next_cursor` back as `cursor` with the
    same filters."""
    access = api_organization(request.auth, org_id, Capability.VIEW_OVERVIEW)
    data = {
        name: value
        for name, value in filters.dict(by_alias=True).items()
        if value not in (None, "", False)
    }
    # Times without an offset are UTC here: an API client has no viewer's zone.
    with timezone.override(UTC):
        form = LogFilterForm(data, organization=access.organization)
        if not form.is_valid():
            raise _form_invalid(form)
        log_filter = form.log_filter(timezone.now())
    try:
        page = selectors.request_log_page(
            access.organization,
            log_filter,
            cursor=cursor,
            size=LOGS_PAGE_SIZE,
            timeout_ms=settings.LOGS_STATEMENT_TIMEOUT_MS,
        )
    except selectors.LogQueryTimedOut:
        logger.warning("Logs API of %s timed out: %s", access.organization.slug, data)
        raise ApiError(
            422,
            "query_timeout",
            "range: these filters took too long to read; pick a narrower time range or add a "
            "filter (a key, a model, a status).",
            param="range",
        ) from None
    return {"data": [log_out(log) for log in page.rows], "next_cursor": page.next_cursor}


# -- Analytics -----------------------------------------------------------------------------------


class LatencyOut(Schema):
    # The upper bound of the latency histogram's bucket holding the percentile; null past the
    # last bound (`label` then says "> N ms").
    at_most_ms: int | None
    label: str


class FiguresOut(Schema):
    requests: int
    errors: int
    error_rate: float | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost: str  # USD, exact decimal string
    cache_hits: int
    cache_hit_rate: float | None
    fallbacks: int
    latency_p50: LatencyOut | None
    latency_p95: LatencyOut | None


class PointOut(FiguresOut):
    start: datetime
    end: datetime


class BreakdownOut(Schema):
    name: str
    # What the logs' filter of that breakdown takes (a key's public id, a model's name); "" for
    # the row summing the rest and for requests naming no user.
    value: str
    other: bool
    requests: int
    errors: int
    cost: str
    input_tokens: int
    output_tokens: int


class BudgetOut(Schema):
    name: str
    key_id: str | None
    period_start: datetime | None
    period_end: datetime | None
    spend: str
    limit: str
    used: float | None
    projected: str | None  # the spend at the period's end at the current rate
    over_on: datetime | None  # when that rate reaches the limit, if within the period


class BudgetsOut(Schema):
    enabled: bool
    organization: BudgetOut | None
    keys: list[BudgetOut]


class AnalyticsOut(Schema):
    org_id: str
    start: datetime
    end: datetime
    time_zone: str
    bucket: str
    totals: FiguresOut
    previous_start: datetime
    previous: FiguresOut
    series: list[PointOut]
    by_model: list[BreakdownOut]
    by_provider: list[BreakdownOut]
    by_key: list[BreakdownOut]
    by_user: list[BreakdownOut]
    # The UTC days the key and user breakdowns count (they come from day rollups).
    breakdown_first_day: date
    breakdown_last_day: date
    budgets: BudgetsOut


class AnalyticsChoices(Schema):
    period: str | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    bucket: str | None = None
    tz: str | None = None


def _latency(bound) -> dict | None:
    return None if bound is None else {"at_most_ms": bound.upper_ms, "label": bound.label}


def figures_out(totals: Totals) -> dict:
    return {
        "requests": totals.requests,
        "errors": totals.errors,
        "error_rate": totals.error_rate,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "cached_tokens": totals.cached_tokens,
        "cost": str(totals.cost),
        "cache_hits": totals.cache_hits,
        "cache_hit_rate": totals.cache_hit_rate,
        "fallbacks": totals.fallbacks,
        "latency_p50": _latency(totals.p50) if totals.histogram else None,
        "latency_p95": _latency(totals.p95) if totals.histogram else None,
    }


def _breakdown(rows) -> list[dict]:
    return [
        {
            "name": row.label,
            "value": row.value,
            "other": row.is_other,
            "requests": row.totals.requests,
            "errors": row.totals.errors,
            "cost": str(row.totals.cost),
            "input_tokens": row.totals.input_tokens,
            "output_tokens": row.totals.output_tokens,
        }
        for row in rows
    ]


def _budget(use) -> dict:
    projected = use.projected
    return {
        "name": use.label,
        "key_id": use.public_id or None,
        "period_start": use.window.start,
        "period_end": use.window.end,
        "spend": str(use.spend),
        "limit": str(use.limit),
        "used": use.used,
        "projected": None if projected is None else str(projected),
        "over_on": use.over_on,
    }


@router.get(
    "orgs/{org_id}/analytics",
    url_name="org-analytics",
    response={200: AnalyticsOut, **ADMIN_ERRORS},
    summary="The org's traffic over a period: totals, a series, breakdowns and budgets",
)
def analytics(request, org_id: str, choices: Query[AnalyticsChoices]):
    """The Analytics page's figures, from the usage rollups. `period`: 24h, 7d (the default),
    30d, or `custom` with `from` and `to` (dates, both included, at most 366 days). `bucket`:
    hour or day (by default hours up to two days, days beyond; 24h is always by the hour).
    `tz`: the IANA zone whose days the buckets follow (UTC by default). `totals` comes with
    `previous`, the period of the same length just before; each breakdown is the top 10 and an
    `other` row; latency percentiles are read from the rollups' histogram."""
    access = api_organization(request.auth, org_id, Capability.VIEW_OVERVIEW)
    data = {
        name: value
        for name, value in choices.dict(by_alias=True).items()
        if value not in (None, "") and name != "tz"
    }
    zone = zone_named(choices.tz)
    if choices.tz and zone is UTC and choices.tz != "UTC":
        raise ApiError(
            422,
            "invalid",
            "tz: name an IANA time zone, such as Europe/Paris or America/New_York.",
            param="tz",
        )
    now = timezone.now()
    data.setdefault("period", DEFAULT_PERIOD)
    form = AnalyticsForm(data, today=now.astimezone(zone).date())
    if not form.is_valid():
        raise _form_invalid(form)
    start, end, bucket = form.window(now=now, zone=zone)
    summary = analytics_summary(access.organization, start=start, end=end, zone=zone, bucket=bucket)
    budgets = budget_status(access.organization, now=now)
    return {
        "org_id": access.organization.slug,
        "start": summary.start,
        "end": summary.end,
        "time_zone": zone_label(zone),
        "bucket": summary.bucket,
        "totals": figures_out(summary.totals),
        "previous_start": summary.previous_start,
        "previous": figures_out(summary.previous),
        "series": [
            {"start": point.start, "end": point.end, **figures_out(point.totals)}
            for point in summary.series
        ],
        "by_model": _breakdown(summary.by_model),
        "by_provider": _breakdown(summary.by_provider),
        "by_key": _breakdown(summary.by_key),
        "by_user": _breakdown(summary.by_user),
        "breakdown_first_day": summary.day_first,
        "breakdown_last_day": summary.day_last,
        "budgets": {
            "enabled": budgets.budget_enabled,
            "organization": _budget(budgets.organization) if budgets.organization else None,
            "keys": [_budget(use) for use in budgets.keys],
        },
    }
