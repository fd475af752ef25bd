"""The viewer's time zone: a known IANA name in the `tz` cookie is active for the request, and
anything else is UTC."""

from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from django.test import RequestFactory
from django.utils import timezone

from prism_site.timezones import ViewerTimeZoneMiddleware, viewer_zone, zone_label, zone_named


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Europe/Paris", ZoneInfo("Europe/Paris")),
        ("America/New_York", ZoneInfo("America/New_York")),
        ("", UTC),
        (None, UTC),
        ("Mars/Olympus", UTC),
        ("../../etc/passwd", UTC),
        ("Europe/Paris\x00", UTC),
    ],
)
def test_zone_named(name, expected):
    assert zone_named(name) == expected


def test_middleware_activates_the_cookie_zone_for_the_request_only():
    seen = []

    def view(request):
        seen.append((timezone.get_current_timezone_name(), request.time_zone))
        return None

    request = RequestFactory().get("/", HTTP_COOKIE="tz=Asia/Tokyo")
    ViewerTimeZoneMiddleware(view)(request)
    assert seen == [("Asia/Tokyo", ZoneInfo("Asia/Tokyo"))]
    assert timezone.get_current_timezone_name() == "UTC"
    assert zone_label(viewer_zone(request)) == "Asia/Tokyo"
    assert zone_label(viewer_zone(RequestFactory().get("/"))) == "UTC"
