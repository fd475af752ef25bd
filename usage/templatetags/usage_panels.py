"""Usage panels for the pages of apps below usage: the org overview's figures and a key's usage.

The overview (orgs) and the key page (keys) cannot import usage; their templates load these
tags, which read the rollups through `usage.dashboard`."""

from decimal import Decimal

from django import template
from django.utils import timezone

from prism_site.timezones import zone_label
from usage.dashboard import key_usage, org_overview

register = template.Library()

# Budget periods are UTC calendar periods; "today" alone would read as the viewer's day.
PERIOD_LABELS = {
    "daily": "today (UTC)",
    "weekly": "this week",
    "monthly": "this month",
    "total": "in total",
}

# The sparkline's drawing box (SVG user units); the bars fill it.
SPARK_WIDTH, SPARK_HEIGHT, SPARK_GAP = 300, 48, 2


@register.filter
def usd(value) -> str:
    """Dollars with cents and thousands separators; a sum under a cent keeps its first digits
    ("$0.0042") instead of reading as nothing."""
    amount = Decimal(str(value or 0))
    if 0 < abs(amount) < Decimal("0.01"):
        digits = f"{amount:.6f}".rstrip("0")
        return "<$0.000001" if digits.endswith(".") else f"${digits}"
    return f"${amount:,.2f}"


@register.inclusion_tag("usage/overview_panels.html")
def org_overview_panels(access):
    zone = timezone.get_current_timezone()
    overview = org_overview(access, zone=zone)
    return {
        "access": access,
        "org": access.organization,
        "caps": access.caps,
        "overview": overview,
        "period_label": PERIOD_LABELS[overview.window.period],
        "zone": zone_label(zone),
    }


def sparkline_bars(values: list[Decimal]) -> list[dict]:
    """One bar per value, scaled to the highest; a day of nothing is a hairline, not absent."""
    highest = max(values, default=Decimal(0))
    step = SPARK_WIDTH / max(len(values), 1)
    bars = []
    for index, value in enumerate(values):
        height = float(value / highest) * SPARK_HEIGHT if highest > 0 else 0
        height = max(height, 1)
        bars.append(
            {
                "x": round(index * step, 2),
                "y": round(SPARK_HEIGHT - height, 2),
                "width": round(step - SPARK_GAP, 2),
                "height": round(height, 2),
            }
        )
    return bars


@register.inclusion_tag("usage/key_usage.html")
def key_usage_panel(key, org_limits):
    usage = key_usage(key, org_period=org_limits.budget_period)
    busiest = max(usage.days, key=lambda day: day.cost)
    return {
        "key": key,
        "usage": usage,
        "period_label": PERIOD_LABELS[usage.window.period],
        "days": [
            (day, bar)
            for day, bar in zip(
                usage.days, sparkline_bars([day.cost for day in usage.days]), strict=True
            )
        ],
        "busiest": busiest if busiest.cost > 0 else None,
        "spark_width": SPARK_WIDTH,
        "spark_height": SPARK_HEIGHT,
        "zone": zone_label(timezone.get_current_timezone()),
    }
