"""The viewer's time zone: the browser names it once (the `tz` cookie, set by static/js/theme.js
from `Intl.DateTimeFormat`), and every page and export of that request shows times in it.

An unknown or missing name is UTC, the zone the data is stored in.
"""

from datetime import UTC, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from django.utils import timezone

TIME_ZONE_COOKIE = "tz"


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_named(name: str | None) -> tzinfo:
    """The IANA zone of that name, or UTC when the name is empty or not a zone."""
    if name and name in _known_zones():
        return ZoneInfo(name)
    return UTC


def viewer_zone(request) -> tzinfo:
    return zone_named(request.COOKIES.get(TIME_ZONE_COOKIE))


def zone_label(zone: tzinfo) -> str:
    """ "UTC" or the IANA name, for "Times are in …"."""
    return "UTC" if zone is UTC else str(zone)


class ViewerTimeZoneMiddleware:
    """Activates the viewer's zone for the request, so `|date` and forms use it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.time_zone = viewer_zone(request)
        timezone.activate(request.time_zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
