"""usage_generate builds a big log in the database (here a small one) with its rollups."""

import pytest
from django.core.management import call_command
from django.db.models import Count

from orgs.models import Organization
from tests.usage.test_rollups import raw_aggregates, rollups
from usage.models import RequestLog

pytestmark = pytest.mark.django_db


def test_a_generated_log_has_one_org_holding_half_and_rollups_to_match(capsys):
    call_command("usage_generate", rows=3_000, days=10, orgs=4, busy_keys=12, keys_per_org=2)

    big = Organization.objects.get(slug="bench-0000")
    by_org = dict(RequestLog.objects.values_list("organization").annotate(n=Count("id")).order_by())
    assert sum(by_org.values()) == 3_000
    assert len(by_org) == 4
    assert abs(by_org[big.pk] - 1_500) <= 10
    busy = RequestLog.objects.filter(organization=big).values("key").distinct().count()
    assert busy == 12
    assert RequestLog.objects.filter(status_code__gte=400).exists()
    assert rollups() == raw_aggregates()
    assert "3,000 logs over 10 days" in capsys.readouterr().out
