"""GET /v1/gateway/spend: what each org and key spent so far in its current budget period."""

from decimal import Decimal

import pytest

from tests.gateway.conftest import gateway_get, json_of
from tests.gateway.test_logs import post_logs, row
from tests.keys.conftest import make_key

pytestmark = pytest.mark.django_db


def test_spend_per_org_and_key_in_the_current_periods(organization, owner, other_organization):
    budgeted = make_key(organization, owner, budget_limit=Decimal("10"), budget_period="daily").key
    plain = make_key(organization, owner, name="plain").key
    post_logs(
        {
            "logs": [
                row(budgeted, "r-1", cost=1.25),
                row(budgeted, "r-2", cost=0.5),
                row(plain, "r-3", cost=2),
            ]
        }
    )
    response = gateway_get("/v1/gateway/spend", period="current")
    assert response.status_code == 200
    answer = json_of(response)
    by_slug = {entry["organization"]["slug"]: entry for entry in answer["data"]}
    ours = by_slug[organization.slug]
    assert ours["organization"]["id"] == organization.pk
    assert ours["period"] == "monthly" and Decimal(ours["spend"]) == Decimal("3.75")
    key = ours["keys"][budgeted.public_id]
    assert key["period"] == "daily" and Decimal(key["spend"]) == Decimal("1.75")
    assert Decimal(key["limit"]) == Decimal("10")
    assert key["period_start"] < key["period_end"]
    if other_organization.slug in by_slug:
        assert Decimal(by_slug[other_organization.slug]["spend"]) == 0


def test_one_period_for_everyone_and_an_unknown_period_is_a_422(organization, owner):
    total = json_of(gateway_get("/v1/gateway/spend", period="total"))
    assert {entry["period"] for entry in total["data"]} <= {"total"}
    response = gateway_get("/v1/gateway/spend", period="fortnightly")
    assert response.status_code == 422
    error = json_of(response)["error"]
    assert error["param"] == "period" and error["message"].startswith("period: ")
