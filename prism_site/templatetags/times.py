"""Times as every page shows them: "just now", "3 hours ago", the exact time on hover, and the
name of the zone (the viewer's) that times and date inputs are in.

One tag for every page, so a time under a minute old never reads "0 minutes ago" anywhere and
the hover always names the zone the exact time is in (the viewer's, see prism_site/timezones).
"""

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from prism_site.timezones import zone_label

register = template.Library()

JUST_NOW = timedelta(minutes=1)


@register.filter
def ago(value: datetime, just_now_within: timedelta | None = None) -> str:
    """ "just now" under a minute (or under `just_now_within`, for times recorded no more
    precisely than that), else the largest unit only, as a glance wants it: "3 hours ago"."""
    now = timezone.now()
    if now - value < (just_now_within or JUST_NOW):
        return "just now"
    return f"{timesince(value, now, depth=1)} ago"


@register.simple_tag
def relative_time(value: datetime | None, just_now_within: timedelta | None = None) -> str:
    """`<time>` reading `ago`, with the exact time and its zone in `title` and ISO in
    `datetime`; empty for no time, so the template says what "never" means there."""
    if value is None:
        return ""
    zone = timezone.get_current_timezone()
    local = timezone.localtime(value, zone)
    return format_html(
        '<time datetime="{}" title="{} {}">{}</time>',
        local.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S"),
        zone_label(zone),
        ago(value, just_now_within),
    )


@register.simple_tag
def zone_name() -> str:
    """The zone the page's times are in and its date inputs are read in: the viewer's."""
    return zone_label(timezone.get_current_timezone())
