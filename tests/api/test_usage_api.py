"""Request logs and analytics over the admin API: the Logs page's filters by the same names,
newest first in keyset pages at a fixed number of queries; the Analytics page's figures, series,
breakdowns and budgets from the rollups; bad choices named, and never a row of another org."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from keys.models import VirtualKey
from orgs.models import Organization
from tests.api.conftest import call, error_of
from tests.keys.conftest import set_org_config
from tests.usage.conftest import log_row
from usage.services import logs_ingest

pytestmark = pytest.mark.django_db

# Acme's rows besides the bulk: (request id, age, key, model, status, latency ms, user).
ROWS = [
    ("recent-ok", timedelta(minutes=5), "owner_key", "gpt-4o", 200, 420, "alice"),
    ("recent-5xx", timedelta(minutes=15), "admin_key", "claude-sonnet-4-6", 503, 3000, "bob"),
    ("hours-4xx", timedelta(hours=5), "owner_key", "gpt-4o", 429, 50, "alice"),
    ("days-ok", timedelta(days=3), "admin_key", "gpt-4o-mini", 200, 800, ""),
]
BULK = 60
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def logs_world(api_world, django_db_blocker):
    """Acme's rows above and BULK more within the hour (gpt-4o-mini), and one row of Other Corp;
    ingested once as the gateway sends them, rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        now = timezone.now()
        keys = {name: SimpleNamespace(public_id=key_id) for name, key_id in api_world.keys.items()}
        rows = [
            log_row(
                keys[key],
                now - age,
                request_id=request_id,
                model=model,
                status_code=status,
                latency_ms=latency,
                user=user,
                metadata={"team": "search"},
            )
            for request_id, age, key, model, status, latency, user in ROWS
        ]
        rows += [
            log_row(
                keys["owner_key"],
                now - timedelta(minutes=30, seconds=number),
                request_id=f"bulk-{number:02}",
                model="gpt-4o-mini",
            )
            for number in range(BULK)
        ]
        rows.append(log_row(keys["outsider_key"], now, request_id="other-org-row"))
        result = logs_ingest(rows=rows, now=now)
        assert result.accepted == len(rows)
        yield api_world
        transaction.set_rollback(True)


def logs_path(world, query: str = "") -> str:
    return f"/v1/orgs/{world.acme_slug}/logs" + (f"?{query}" if query else "")


def test_logs_page_newest_first_at_a_fixed_number_of_queries(
    logs_world, django_assert_max_num_queries
):
    # Credential and access (six at most, as every route), the org's keys for the key filter,
    # and the page with each row's key inside its statement timeout (savepoint, SET LOCAL, the
    # page, rollback to the savepoint and its release).
    with django_assert_max_num_queries(12):
        first = call("GET", logs_path(logs_world), logs_world.credentials["viewer_token"])
    assert first.status_code == 200, first.content
    body = first.json()
    assert [log["request_id"] for log in body["data"][:2]] == ["recent-ok", "recent-5xx"]
    assert len(body["data"]) == 50 and body["next_cursor"]
    assert body["data"][0]["key"] == {"id": logs_world.keys["owner_key"], "name": "owner_key"}
    assert body["data"][0]["cost"] == "0.0042000000"
    assert body["data"][0]["metadata"] == {"team": "search"}
    with django_assert_max_num_queries(12):
        second = call(
            "GET",
            logs_path(logs_world, f"cursor={body['next_cursor']}"),
            logs_world.credentials["viewer_token"],
        ).json()
    ids = [log["request_id"] for log in body["data"] + second["data"]]
    # Within 24 hours: all but the row three days old; never Other Corp's.
    assert len(ids) == len(set(ids)) == len(ROWS) - 1 + BULK and second["next_cursor"] is None
    assert "other-org-row" not in ids and "days-ok" not in ids


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("range=7d&model=gpt-4o-mini&request_id=days-ok", ["days-ok"]),
        ("status=5xx", ["recent-5xx"]),
        ("errors_only=true", ["recent-5xx", "hours-4xx"]),
        ("range=1h&user=alice", ["recent-ok"]),
        ("min_latency=1000&range=30d", ["recent-5xx"]),
        ("provider=openai&model=gpt-4o", ["recent-ok", "hours-4xx"]),
        ("key={admin_key}&range=7d", ["recent-5xx", "days-ok"]),
        ("range=7d&meta=team=search&min_cost=0.004&max_cost=0.0042", [r[0] for r in ROWS]),
        ("meta=team=other", []),
        ("range=custom&from={four_days_ago}&to={two_days_ago}", ["days-ok"]),
        # Without an offset a time is UTC.
        ("range=custom&from={twenty_minutes_ago_utc}", ["recent-ok", "recent-5xx"]),
        ("range=7d&session=s-1", []),
    ],
)
def test_the_logs_pages_filters_by_the_same_names(logs_world, query, expected):
    now = timezone.now()
    query = query.format(
        admin_key=logs_world.keys["admin_key"],
        four_days_ago=quote((now - timedelta(days=4)).isoformat()),
        two_days_ago=quote((now - timedelta(days=2)).astimezone(PARIS).isoformat()),
        twenty_minutes_ago_utc=(now - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    response = call("GET", logs_path(logs_world, query), logs_world.credentials["owner_key"])
    assert response.status_code == 200, response.content
    assert [log["request_id"] for log in response.json()["data"]] == expected


@pytest.mark.parametrize(
    ("query", "param", "says"),
    [
        ("range=90d", "range", "range: must be one of"),
        ("status=3xx", "status", "status: must be one of"),
        ("min_latency=-5", "min_latency", "min_latency"),
        ("key={outsider_key}", "key", "key: no key of this organization"),
        ("range=custom", "from", "from: pick the start"),
        ("range=custom&from=2026-01-01T00:00&to=2026-03-01T00:00", "from", "at most 31 days"),
        ("min_cost=0.5&max_cost=0.1", "max_cost", "max_cost: must be at least min_cost"),
        ("meta=team", "meta", "meta: write it as name=value"),
    ],
)
def test_bad_filters_are_named(logs_world, query, param, says):
    query = query.format(outsider_key=logs_world.keys["outsider_key"])
    response = call("GET", logs_path(logs_world, query), logs_world.credentials["member_token"])
    assert response.status_code == 422, response.content
    assert error_of(response)["param"] == param and says in error_of(response)["message"]


def test_a_key_of_the_org_filters_even_when_revoked(logs_world):
    VirtualKey.objects.filter(public_id=logs_world.keys["admin_key"]).update(
        revoked_at=timezone.now()
    )
    response = call(
        "GET",
        logs_path(logs_world, f"key={logs_world.keys['admin_key']}"),
        logs_world.credentials["owner_token"],
    )
    assert [log["request_id"] for log in response.json()["data"]] == ["recent-5xx"]


def analytics_path(world, query: str = "") -> str:
    return f"/v1/orgs/{world.acme_slug}/analytics" + (f"?{query}" if query else "")


def test_analytics_sums_the_rollups_of_the_org_only(logs_world, django_assert_max_num_queries):
    # Credential and access (six at most), the figures (seven at most) and the budgets (four).
    with django_assert_max_num_queries(17):
        response = call(
            "GET", analytics_path(logs_world, "period=24h"), logs_world.credentials["viewer_token"]
        )
    assert response.status_code == 200, response.content
    body = response.json()
    within_a_day = len(ROWS) - 1 + BULK
    assert body["bucket"] == "hour" and body["time_zone"] == "UTC" and len(body["series"]) == 24
    assert body["totals"]["requests"] == within_a_day and body["totals"]["errors"] == 2
    assert Decimal(body["totals"]["cost"]) == Decimal("0.0042") * within_a_day
    assert sum(point["requests"] for point in body["series"]) == within_a_day
    assert body["totals"]["latency_p50"]["label"].startswith("≤")
    assert body["previous"]["requests"] == 0
    models = {row["name"]: row["requests"] for row in body["by_model"]}
    assert models == {"gpt-4o-mini": BULK, "gpt-4o": 2, "claude-sonnet-4-6": 1}
    keys = {row["value"]: row["requests"] for row in body["by_key"]}
    assert logs_world.keys["outsider_key"] not in keys
    assert keys[logs_world.keys["owner_key"]] >= BULK

    week = call(
        "GET",
        analytics_path(logs_world, "period=7d&tz=Europe/Paris"),
        logs_world.credentials["owner_key"],
    ).json()
    assert week["bucket"] == "day" and week["time_zone"] == "Europe/Paris"
    assert len(week["series"]) == 7 and week["totals"]["requests"] == within_a_day + 1
    assert week["start"].endswith(("+01:00", "+02:00"))


def test_analytics_budgets_and_custom_dates(logs_world):
    organization = Organization.objects.get(pk=logs_world.acme)
    set_org_config(organization, {"budgets": {"enabled": True, "limit": 5, "period": "monthly"}})
    today = timezone.now().date()
    body = call(
        "GET",
        analytics_path(
            logs_world, f"period=custom&from={today - timedelta(days=6)}&to={today}&bucket=day"
        ),
        logs_world.credentials["member_token"],
    ).json()
    assert len(body["series"]) == 7 and body["totals"]["requests"] == len(ROWS) + BULK
    budget = body["budgets"]["organization"]
    assert body["budgets"]["enabled"] and Decimal(budget["limit"]) == 5
    assert 0 < Decimal(budget["spend"]) <= Decimal(body["totals"]["cost"])
    assert budget["key_id"] is None and budget["period_end"]


@pytest.mark.parametrize(
    ("query", "param", "says"),
    [
        ("period=90d", "period", "period: must be one of"),
        ("period=custom&from={forty_days_ago}&to={today}&bucket=hour", "bucket", "at most 31"),
        ("period=custom&from={today}&to={forty_days_ago}", "to", "to: must be the same day"),
        ("period=custom&from=2026-01-01", "to", "to: enter a date"),
        ("tz=Mars/Olympus", "tz", "tz: name an IANA time zone"),
    ],
)
def test_bad_analytics_choices_are_named(logs_world, query, param, says):
    today = timezone.now().date()
    query = query.format(today=today, forty_days_ago=today - timedelta(days=40))
    response = call(
        "GET", analytics_path(logs_world, query), logs_world.credentials["viewer_token"]
    )
    assert response.status_code == 422, response.content
    assert error_of(response)["param"] == param and says in error_of(response)["message"]
