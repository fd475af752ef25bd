"""Matrix rows for Analytics: every role that sees the overview (Viewer included) reads the org's
analytics and a chart's CSV; an outsider gets 404; a bad period or date is a 400 for members."""

from datetime import timedelta

from django.utils import timezone

from keys.models import VirtualKey
from tests.keys.conftest import make_key
from tests.matrix import LOGIN, Route, expect
from tests.usage.conftest import _ref, log_row
from usage.services import logs_ingest


def _with_traffic(ctx):
    organization = ctx.organization
    key = VirtualKey.objects.filter(organization=organization).first() or (
        make_key(organization, ctx.users["owner"], name="analytics-service").key
    )
    logs_ingest(rows=[log_row(_ref(key), timezone.now() - timedelta(minutes=5))])
    return {"slug": organization.slug}


EVERY_ROLE = expect(LOGIN, 404, 200, 200, 200, 200)
BAD_INPUT = expect(LOGIN, 404, 400, 400, 400, 400)

ROUTES = [
    Route("analytics:overview", EVERY_ROLE),
    Route("analytics:overview", EVERY_ROLE, htmx=True, label="htmx"),
    Route("analytics:overview", EVERY_ROLE, kwargs=_with_traffic, label="with traffic"),
    Route(
        "analytics:overview",
        EVERY_ROLE,
        kwargs=_with_traffic,
        query="period=24h&format=csv&chart=requests",
        label="chart CSV",
    ),
    Route(
        "analytics:overview",
        EVERY_ROLE,
        query="period=30d&bucket=hour",
        label="30 days by the hour",
    ),
    Route("analytics:overview", BAD_INPUT, query="period=1y", label="bad period"),
    Route(
        "analytics:overview",
        BAD_INPUT,
        query="period=custom&from=2026-02-30&to=2026-03-01",
        label="bad date",
    ),
    Route(
        "analytics:overview",
        BAD_INPUT,
        query="period=7d&format=csv&chart=pie",
        label="unknown chart",
    ),
]
