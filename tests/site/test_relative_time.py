"""Relative times read "just now" under a minute on every page, the exact time on hover."""

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template import Context, Template
from django.utils import timezone

TAG = Template("{% load times %}{% relative_time moment within %}")


def render(moment, within=None) -> str:
    return TAG.render(Context({"moment": moment, "within": within}))


def test_under_a_minute_is_just_now_never_zero_minutes():
    now = timezone.now()
    assert ">just now</time>" in render(now - timedelta(seconds=59))
    assert ">1\xa0minute ago</time>" in render(now - timedelta(seconds=61))
    assert ">3\xa0hours ago</time>" in render(now - timedelta(hours=3, minutes=20))
    # A time recorded only every five minutes stays "just now" for those five minutes.
    assert ">just now</time>" in render(now - timedelta(minutes=4), timedelta(minutes=5))
    assert render(None) == ""


def test_the_exact_time_is_on_hover_in_the_viewers_zone():
    moment = timezone.now().replace(microsecond=0) - timedelta(days=2)
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        html = render(moment)
    local = moment.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f'title="{local:%Y-%m-%d %H:%M:%S} Asia/Tokyo"' in html
    assert f'datetime="{local.isoformat()}"' in html
    assert ">2\xa0days ago</time>" in html


def test_no_template_builds_a_relative_time_of_its_own():
    templates = Path(settings.BASE_DIR) / "templates"
    offenders = [
        str(path.relative_to(templates))
        for path in templates.rglob("*.html")
        if "timesince" in path.read_text() or "naturaltime" in path.read_text()
    ]
    assert offenders == []
