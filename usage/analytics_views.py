"""Analytics: one org's traffic over a chosen period in the viewer's time zone, its KPIs against
the period before, charts (inline SVG, each with its data as a table and a CSV), breakdowns
linking to the Logs page, and budget use with a projection. Reads the rollups only
(usage.analytics), never the request logs.
"""

import csv
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from orgs.access import OrgAccess, org_view
from orgs.roles import Capability
from prism_site.timezones import zone_label
from usage import charts
from usage.analytics import (
    AnalyticsSummary,
    BreakdownRow,
    Bucket,
    BudgetUse,
    LatencyBound,
    Totals,
    analytics_summary,
    budget_status,
)
from usage.analytics_forms import DEFAULT_PERIOD, PERIOD_LABELS, AnalyticsForm
from usage.forms import RANGES as LOG_RANGES
from usage.models import LATENCY_BUCKET_BOUNDS_MS

# -- Figures as text --------------------------------------------------------------------------


def _count(value: int) -> str:
    return f"{value:,}"


def _money(value: Decimal) -> str:
    if value and abs(value) < 1:
        return f"${value:,.4f}"
    return f"${value:,.2f}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _latency(bound: LatencyBound | None) -> str:
    return "—" if bound is None else bound.label


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    previous: str
    # "+12.5%", "−0.4 pts", "new", "" (nothing to compare).
    change: str
    # "up", "down" or "flat", and whether that way is good, bad or neither (for the colour).
    direction: str
    verdict: str
    note: str = ""


def _relative(current: float | None, previous: float | None, *, up_is_good: bool | None):
    if current is None or previous is None:
        return "", "flat", ""
    if previous == 0:
        return ("new", "up", _verdict("up", up_is_good)) if current else ("", "flat", "")
    change = (current - previous) / previous
    direction = "up" if change > 0.0005 else "down" if change < -0.0005 else "flat"
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{sign}{abs(change) * 100:.1f}%", direction, _verdict(direction, up_is_good)


def _points(current: float | None, previous: float | None, *, up_is_good: bool):
    if current is None or previous is None:
        return "", "flat", ""
    change = (current - previous) * 100
    direction = "up" if change > 0.05 else "down" if change < -0.05 else "flat"
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{sign}{abs(change):.1f} pts", direction, _verdict(direction, up_is_good)


def _verdict(direction: str, up_is_good: bool | None) -> str:
    if direction == "flat" or up_is_good is None:
        return ""
    return "good" if (direction == "up") == up_is_good else "bad"


def _kpi(label, value, previous, change, note="") -> Kpi:
    text, direction, verdict = change
    return Kpi(label, value, previous, text, direction, verdict, note)


def _bound_ms(bound: LatencyBound | None) -> float | None:
    return None if bound is None else bound.plot_ms


def kpis(summary: AnalyticsSummary) -> list[Kpi]:
    now, before = summary.totals, summary.previous
    bucket_note = "the upper bound of its latency bucket"
    return [
        _kpi(
            "Requests",
            _count(now.requests),
            _count(before.requests),
            _relative(now.requests, before.requests, up_is_good=None),
        ),
        _kpi(
            "Error rate",
            _percent(now.error_rate),
            _percent(before.error_rate),
            _points(now.error_rate, before.error_rate, up_is_good=False),
            f"{_count(now.errors)} errors",
        ),
        _kpi(
            "Spend",
            _money(now.cost),
            _money(before.cost),
            _relative(float(now.cost), float(before.cost), up_is_good=None),
        ),
        _kpi(
            "Tokens in",
            _count(now.input_tokens),
            _count(before.input_tokens),
            _relative(now.input_tokens, before.input_tokens, up_is_good=None),
        ),
        _kpi(
            "Tokens out",
            _count(now.output_tokens),
            _count(before.output_tokens),
            _relative(now.output_tokens, before.output_tokens, up_is_good=None),
        ),
        _kpi(
            "Latency p50",
            _latency(now.p50),
            _latency(before.p50),
            _relative(_bound_ms(now.p50), _bound_ms(before.p50), up_is_good=False),
            bucket_note,
        ),
        _kpi(
            "Latency p95",
            _latency(now.p95),
            _latency(before.p95),
            _relative(_bound_ms(now.p95), _bound_ms(before.p95), up_is_good=False),
            bucket_note,
        ),
        _kpi(
            "Cache hit rate",
            _percent(now.cache_hit_rate),
            _percent(before.cache_hit_rate),
            _points(now.cache_hit_rate, before.cache_hit_rate, up_is_good=True),
            f"{_count(now.cache_hits)} hits",
        ),
    ]


# -- Charts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartSpec:
    """One chart: its series from a bucket's totals, the table's and the CSV's columns."""

    name: str
    title: str
    axis: str
    series: tuple[tuple[str, int], ...]
    value_label: Callable[[float], str]
    csv_columns: tuple[str, ...]

    def values(self, totals: Totals) -> list:
        if self.name == "requests":
            return [totals.requests, totals.errors]
        if self.name == "spend":
            return [totals.cost]
        if self.name == "tokens":
            return [totals.input_tokens, totals.output_tokens]
        return [totals.p50, totals.p95]


CHART_SPECS = (
    ChartSpec(
        "requests",
        "Requests and errors",
        "requests",
        (("Requests", 1), ("Errors", 2)),
        charts.count_label,
        ("requests", "errors"),
    ),
    ChartSpec("spend", "Spend", "USD", (("Spend", 1),), charts.money_label, ("spend_usd",)),
    ChartSpec(
        "tokens",
        "Tokens in and out",
        "tokens",
        (("Tokens in", 1), ("Tokens out", 3)),
        charts.count_label,
        ("input_tokens", "output_tokens"),
    ),
    ChartSpec(
        "latency",
        "Latency p50 and p95",
        "ms, bucket upper bound",
        (("p50", 1), ("p95", 4)),
        charts.ms_label,
        ("p50_ms_at_most", "p95_ms_at_most"),
    ),
)
CHARTS_BY_NAME = {spec.name: spec for spec in CHART_SPECS}


def _plotted(value) -> float | None:
    if isinstance(value, LatencyBound):
        return value.plot_ms
    return None if value is None else float(value)


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, LatencyBound):
        return value.label
    if isinstance(value, Decimal):
        return _money(value)
    return _count(value)


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, LatencyBound):
        return str(value.upper_ms) if value.upper_ms else f"{LATENCY_BUCKET_BOUNDS_MS[-1]}+"
    return str(value)


def _axis(series: list[Bucket], bucket: str) -> tuple[list[str], list[int]]:
    """Each point's axis label and the points to label: by the hour, the starts of local days
    (a date) over long periods, every few hours (the time) over short ones; by the day, a date
    every few days."""
    starts = [point.start for point in series]
    if bucket == "day":
        labels = [f"{start:%b} {start.day}" for start in starts]
        return labels, list(range(0, len(starts), max(1, math.ceil(len(starts) / 8))))
    # The first hour of each local day (00:00, or 00:30 in a zone half an hour off UTC).
    new_day = [index for index, start in enumerate(starts) if start.hour == 0 and index > 0]
    if len(starts) > 48:
        labels = [f"{start:%b} {start.day}" for start in starts]
        return labels, new_day[:: max(1, math.ceil(len(new_day) / 8))]
    labels = [
        f"{start:%b} {start.day}" if index in new_day else f"{start:%H:%M}"
        for index, start in enumerate(starts)
    ]
    return labels, [index for index, start in enumerate(starts) if start.hour % 4 == 0]


def _row_label(point: Bucket, bucket: str) -> str:
    if bucket == "day":
        hours = round(point.duration / timedelta(hours=1))
        text = f"{point.start:%Y-%m-%d}"
        return text if hours == 24 else f"{text} ({hours} hours)"
    return f"{point.start:%Y-%m-%d %H:%M %Z}"


def chart_blocks(summary: AnalyticsSummary, query: dict) -> list[dict]:
    labels, label_at = _axis(summary.series, summary.bucket)
    blocks = []
    for spec in CHART_SPECS:
        columns = [spec.values(point.totals) for point in summary.series]
        # Counts are zero in an empty bucket; a percentile of no requests is a gap.
        series = [
            charts.Series(name, [_plotted(values[index]) for values in columns], tone)
            for index, (name, tone) in enumerate(spec.series)
        ]
        blocks.append(
            {
                "spec": spec,
                "chart": charts.line_chart(series, labels, spec.value_label, label_at),
                "rows": [
                    (_row_label(point, summary.bucket), [_cell(value) for value in values])
                    for point, values in zip(summary.series, columns, strict=True)
                ],
                "csv_query": urlencode({**query, "format": "csv", "chart": spec.name}),
            }
        )
    return blocks


# -- Breakdowns and budgets -------------------------------------------------------------------


def _logs_range(start: datetime, now: datetime) -> str:
    """The shortest Logs range reaching back to the period's start (the Logs page looks back
    from now, at most 30 days)."""
    for name, length in LOG_RANGES.items():
        if now - length <= start:
            return name
    return "30d"


BREAKDOWNS = (
    ("by_model", "Models", "Model", "model"),
    ("by_key", "Keys", "Key", "key"),
    ("by_provider", "Providers", "Provider", "provider"),
    ("by_user", "Users", "User", "user"),
)


def breakdown_blocks(summary: AnalyticsSummary, logs_url: str, logs_range: str) -> list[dict]:
    blocks = []
    for attribute, title, column, filter_name in BREAKDOWNS:
        rows: list[BreakdownRow] = getattr(summary, attribute)
        total = sum(row.totals.requests for row in rows)
        blocks.append(
            {
                "title": title,
                "column": column,
                "utc_days": attribute in ("by_key", "by_user"),
                "rows": [
                    {
                        "row": row,
                        "link": (
                            f"{logs_url}?{urlencode({'range': logs_range, filter_name: row.value})}"
                            if row.value and not row.is_other
                            else ""
                        ),
                        "share": _percent(row.totals.requests / total if total else None),
                        "error_rate": _percent(row.totals.error_rate),
                        "spend": _money(row.totals.cost),
                        "requests": _count(row.totals.requests),
                        "input_tokens": _count(row.totals.input_tokens),
                        "output_tokens": _count(row.totals.output_tokens),
                    }
                    for row in rows
                ],
            }
        )
    return blocks


def _when(moment: datetime | None, zone) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local:%b} {local.day}, {local:%Y}"


def budget_line(use: BudgetUse, zone) -> dict:
    window = use.window
    projection = ""
    if use.projected is not None and window.end is not None:
        # The period's last day: "by Dec 31, 2026".
        last_day = _when(window.end - timedelta(seconds=1), zone)
        projection = f"At this rate: {_money(use.projected)} by {last_day}"
        if use.over:
            projection += "; over the limit already"
        elif use.over_on is not None:
            projection += f"; over the limit on {_when(use.over_on, zone)}"
        else:
            projection += "; within the limit"
    used = use.used
    return {
        "use": use,
        "spend": _money(use.spend),
        "limit": _money(use.limit),
        "used": _percent(used),
        "meter": min(used or 0, 1.0) if used is not None else 0,
        "meter_percent": round(min(used or 0, 1.0) * 100) if used is not None else 0,
        "period": "all time" if window.start is None else window.period,
        "projection": projection,
    }


# -- Views ------------------------------------------------------------------------------------


def _query(form: AnalyticsForm) -> dict:
    """The cleaned choices as URL parameters (for the CSV links)."""
    data = form.cleaned_data
    query = {"period": data["period"], "bucket": data["bucket"]}
    if data["period"] == "custom":
        query |= {"from": data["from"].isoformat(), "to": data["to"].isoformat()}
    return query


def _file_name(slug: str, chart: str, summary: AnalyticsSummary) -> str:
    last = summary.end - timedelta(seconds=1)
    name = f"prism-analytics-{slug}-{chart}-{summary.start:%Y%m%d}-{last:%Y%m%d}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:180] + ".csv"


def chart_csv(summary: AnalyticsSummary, spec: ChartSpec) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["bucket_start", "bucket_end", *spec.csv_columns])
    for point in summary.series:
        writer.writerow(
            [
                point.start.isoformat(),
                point.end.isoformat(),
                *(_csv_cell(value) for value in spec.values(point.totals)),
            ]
        )
    return out.getvalue()


@org_view(Capability.VIEW_OVERVIEW)
def analytics_overview(request, access: OrgAccess):
    zone = getattr(request, "time_zone", UTC)
    now = timezone.now()
    organization = access.organization
    data = request.GET.copy()
    if not data.get("period"):
        # The choice shown is the period drawn, also when the address names none.
        data["period"] = DEFAULT_PERIOD
    form = AnalyticsForm(data, today=now.astimezone(zone).date())
    context = {"form": form, "zone_label": zone_label(zone), "summary": None}
    template = "usage/analytics.html"
    if request.htmx and not request.htmx.boosted:
        template = "usage/analytics.html#analytics-body"
    if not form.is_valid():
        # htmx swaps only a 2xx answer: the messages then replace the charts in place.
        return render(request, template, context, status=200 if request.htmx else 400)

    start, end, bucket = form.window(now=now, zone=zone)
    summary = analytics_summary(organization, start=start, end=end, zone=zone, bucket=bucket)
    if form.cleaned_data["format"] == "csv":
        chart = form.cleaned_data["chart"]
        response = HttpResponse(
            chart_csv(summary, CHARTS_BY_NAME[chart]), content_type="text/csv; charset=utf-8"
        )
        name = _file_name(organization.slug, chart, summary)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    logs_url = reverse("logs:list", kwargs={"slug": organization.slug})
    budgets = budget_status(organization, now=now)
    context |= {
        "summary": summary,
        "period_label": PERIOD_LABELS[form.cleaned_data["period"]],
        "period_text": _period_text(summary.start, summary.end),
        "previous_text": _period_text(summary.previous_start, summary.start),
        "kpis": kpis(summary),
        "charts": chart_blocks(summary, _query(form)),
        "breakdowns": breakdown_blocks(summary, logs_url, _logs_range(summary.start, now)),
        "budgets": budgets,
        # Budget periods are calendar periods in UTC: their dates are UTC dates.
        "org_budget": budget_line(budgets.organization, UTC) if budgets.organization else None,
        "key_budgets": [budget_line(use, UTC) for use in budgets.keys],
        "can_change_config": access.can(Capability.CHANGE_CONFIG),
        "can_view_keys": access.can(Capability.VIEW_CONFIG),
    }
    return render(request, template, context)


def _period_text(start: datetime, end: datetime) -> str:
    """ "Mar 2, 2026 – Mar 8, 2026" for whole days, "Mar 7 15:00 – Mar 8 15:00" otherwise."""
    if start.hour == start.minute == end.hour == end.minute == 0:
        last = end - timedelta(seconds=1)
        return f"{start:%b} {start.day}, {start:%Y} – {last:%b} {last.day}, {last:%Y}"
    return f"{start:%b} {start.day} {start:%H:%M} – {end:%b} {end.day} {end:%H:%M}"
