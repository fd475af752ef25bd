"""Matrix rows for Logs: every role that sees the overview (Viewer included) reads the org's
logs, the follow poll, one request's detail and the CSV and NDJSON exports; an outsider gets 404,
even for a log id of their own org."""

from datetime import timedelta

from django.utils import timezone

from keys.models import VirtualKey
from tests.keys.conftest import make_key
from tests.matrix import LOGIN, Route, expect
from usage.models import RequestLog
from usage.selectors import newest_marker


def _log_of(organization, user) -> RequestLog:
    key = VirtualKey.objects.filter(organization=organization).first() or (
        make_key(organization, user, name="logs-service").key
    )
    return RequestLog.objects.create(
        organization=organization,
        key=key,
        request_id="req-matrix",
        model="gpt-4o",
        provider="openai",
        status_code=200,
        latency_ms=100,
        started_at=timezone.now() - timedelta(minutes=5),
    )


def _own_log(ctx):
    log = _log_of(ctx.organization, ctx.users["owner"])
    return {"slug": ctx.organization.slug, "log_id": log.pk}


def _newer_than_own_log(ctx):
    """A row of this org 5 minutes old: new to a poll marked an hour ago."""
    _log_of(ctx.organization, ctx.users["owner"])
    return {"slug": ctx.organization.slug}


def _other_orgs_log(ctx):
    outsider = ctx.users["outsider"]
    log = _log_of(outsider.memberships.get().organization, outsider)
    return {"slug": ctx.organization.slug, "log_id": log.pk}


ROUTES = [
    Route("logs:list", expect(LOGIN, 404, 200, 200, 200, 200)),
    Route("logs:list", expect(LOGIN, 404, 200, 200, 200, 200), htmx=True, label="htmx"),
    Route(
        "logs:list",
        expect(LOGIN, 404, 200, 200, 200, 200),
        query="range=7d&status=5xx&errors_only=on&min_latency=10",
        label="filtered",
    ),
    Route("logs:detail", expect(LOGIN, 404, 200, 200, 200, 200), kwargs=_own_log),
    Route(
        "logs:detail",
        expect(LOGIN, 404, 200, 200, 200, 200),
        kwargs=_own_log,
        htmx=True,
        label="drawer",
    ),
    Route(
        "logs:detail",
        expect(LOGIN, 404, 404, 404, 404, 404),
        kwargs=_other_orgs_log,
        label="of another org",
    ),
    Route(
        "logs:newer",
        expect(LOGIN, 404, 204, 204, 204, 204),
        query=f"range=1h&after={newest_marker(timezone.now() + timedelta(days=1), 0)}",
        label="nothing new",
    ),
    Route(
        "logs:newer",
        expect(LOGIN, 404, 200, 200, 200, 200),
        kwargs=_newer_than_own_log,
        query=f"range=24h&after={newest_marker(timezone.now() - timedelta(hours=1), 0)}",
        htmx=True,
        label="new rows",
    ),
    Route(
        "logs:newer",
        expect(LOGIN, 404, 400, 400, 400, 400),
        query="after=altered",
        label="altered mark",
    ),
    Route("logs:export", expect(LOGIN, 404, 200, 200, 200, 200)),
    Route("logs:export_ndjson", expect(LOGIN, 404, 200, 200, 200, 200)),
    Route(
        "logs:export_ndjson",
        expect(LOGIN, 404, 400, 400, 400, 400),
        query="range=custom",
        label="custom range without from",
    ),
    Route(
        "logs:export",
        expect(LOGIN, 404, 400, 400, 400, 400),
        query="range=1y",
        label="bad range",
    ),
]
