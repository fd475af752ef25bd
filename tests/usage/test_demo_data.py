"""demo_data fills the demo org with a month of traffic through the ingestion service."""

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Sum

from keys.models import VirtualKey
from orgs.models import Organization
from usage.models import HourlyRollup, KeyDayRollup, RequestLog
from usage.selectors import spend_summary

pytestmark = pytest.mark.django_db


def test_demo_traffic_is_a_month_of_varied_requests_with_a_budget_near_its_limit(capsys):
    call_command("demo_data", requests_per_day=300)
    organization = Organization.objects.get(slug="demo")
    logs = RequestLog.objects.filter(organization=organization)

    count = logs.count()
    assert 7_000 < count < 11_000
    # Not a terminal: no counter rewritten with carriage returns, one clean line per message.
    out = capsys.readouterr().out
    assert out == (
        "Demo organization: Demo Org (/o/demo/)\n"
        f"Traffic: {count:,} requests over 30 days stored.\n"
    )
    first, last = logs.order_by("started_at").values_list("started_at", flat=True)[:: count - 1]
    assert (last - first).days >= 29
    assert logs.values("key").distinct().count() == 4
    assert logs.values("model").distinct().count() == 4
    assert set(logs.values_list("status_code", flat=True).distinct()) >= {200, 429, 500, 0}
    assert logs.aggregate(Max("latency_ms"))["latency_ms__max"] > 20_000  # the slow tail
    # Stored through the ingestion service: the rollups hold every request.
    assert HourlyRollup.objects.aggregate(n=Sum("requests"))["n"] == count
    assert KeyDayRollup.objects.aggregate(n=Sum("requests"))["n"] == count
    # A key kept to gpt-4o-mini only sent gpt-4o-mini.
    notebook = VirtualKey.objects.get(organization=organization, name="notebook-experiments")
    assert set(logs.filter(key=notebook).values_list("model", flat=True)) == {"gpt-4o-mini"}

    near = VirtualKey.objects.get(organization=organization, name="batch-summarizer")
    spend = spend_summary().organization("demo").keys[near.public_id]
    assert 0.8 < spend.spend / spend.limit < 1

    call_command("demo_data")  # a second run adds no traffic
    assert logs.count() == count
    assert RequestLog.objects.values("organization").annotate(n=Count("id")).count() == 1
