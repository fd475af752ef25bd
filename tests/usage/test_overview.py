"""The org overview: today's requests and error rate, spend against the budget, top models and
the latest errors equal aggregates of the raw rows of that org alone; the set-up checklist flips
as a new org is set up and links only where the viewer's role may go; a fixed number of queries
whatever the traffic."""

import re
from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.models import Invitation, User
from orgs.access import access_organization
from orgs.roles import Role
from prism_site.timezones import TIME_ZONE_COOKIE
from tests.factories import add_member, make_organization, make_user
from tests.keys.conftest import OPENAI_AND_ANTHROPIC, make_key, set_org_config
from tests.orgs.test_query_counts import OVERVIEW_QUERIES
from tests.usage.conftest import KeyRef, _ref, log_row
from usage.dashboard import LATEST_ERRORS, TOP_MODELS, day_start, org_overview
from usage.models import RequestLog
from usage.selectors import period_window
from usage.services import logs_ingest

pytestmark = pytest.mark.django_db

MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "o3", "mistral-large", "gemini-2", "llama"]
STATUSES = [200, 200, 201, 429, 200, 500, 200, 0, 200, 503]


@dataclass(frozen=True)
class OverviewWorld:
    slug: str
    other_slug: str
    users: dict[str, int]
    keys: dict[str, KeyRef]
    other_error_ids: list[int]


def _traffic(key: KeyRef, now, count: int, every: timedelta, *, start=timedelta(0), seed=0):
    rows = []
    for n in range(count):
        rows.append(
            log_row(
                key,
                now - start - every * n,
                model=MODELS[(n * 3 + seed) % len(MODELS)],
                status_code=STATUSES[(n + seed) % len(STATUSES)],
                cost=str(Decimal("0.0125") * ((n + seed) % 7 + 1)),
                error="upstream said no" if STATUSES[(n + seed) % len(STATUSES)] >= 400 else "",
            )
        )
    return rows


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> OverviewWorld:
    """Acme (configured, four roles, two keys, 40 hours of traffic and some from last month) and
    Other (a costly, failing neighbour); built once, rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        now = timezone.now()
        owner = make_user("ov-owner@example.test")
        acme = make_organization("Acme Overview", owner=owner)
        set_org_config(acme, OPENAI_AND_ANTHROPIC)
        users = {"owner": owner.pk}
        for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
            users[role.value] = add_member(
                acme, role, make_user(f"ov-{role.value}@example.test")
            ).pk
        keys = {
            "main": _ref(make_key(acme, owner, "main").key),
            "web": _ref(make_key(acme, owner, "web").key),
        }
        outsider = make_user("ov-outsider@example.test")
        other = make_organization("Other Overview", owner=outsider)
        set_org_config(other, OPENAI_AND_ANTHROPIC)
        keys["other"] = _ref(make_key(other, outsider, "other-main").key)
        users["outsider"] = outsider.pk
        rows = _traffic(keys["main"], now, 50, timedelta(minutes=47))
        rows += _traffic(keys["web"], now, 30, timedelta(minutes=31), seed=3)
        rows += _traffic(keys["main"], now, 20, timedelta(hours=5), start=timedelta(days=33))
        # The neighbour's errors are newer than any of Acme's and it spends more.
        other_rows = [
            log_row(keys["other"], now - timedelta(seconds=n + 1), status_code=500, cost=50)
            for n in range(8)
        ]
        result = logs_ingest(rows=rows + other_rows, now=now)
        assert not result.rejected, result.rejected
        yield OverviewWorld(
            slug=acme.slug,
            other_slug=other.slug,
            users=users,
            keys=keys,
            other_error_ids=list(
                RequestLog.objects.filter(organization=other).values_list("pk", flat=True)
            ),
        )
        transaction.set_rollback(True)


def _access(world, role="owner", slug=None):
    return access_organization(User.objects.get(pk=world.users[role]), slug or world.slug)


def _login(client, world, role="owner"):
    client.force_login(User.objects.get(pk=world.users[role]))


def _raw(slug, **filters):
    return RequestLog.objects.filter(organization__slug=slug, **filters)


ERROR = Q(status_code__gte=400) | Q(status_code__lt=100)


@pytest.mark.parametrize("zone", [UTC, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")])
def test_figures_equal_aggregates_of_the_raw_rows(world, zone):
    now = timezone.now()
    overview = org_overview(_access(world), zone=zone, now=now)
    start = day_start(now, zone)
    assert start <= now and start.minute == 0
    today = _raw(world.slug, started_at__gte=start)
    totals = today.aggregate(requests=Count("pk"), errors=Count("pk", filter=ERROR))
    assert overview.requests == totals["requests"] > 0
    assert overview.errors == totals["errors"] > 0
    assert overview.error_rate == pytest.approx(100 * totals["errors"] / totals["requests"])
    assert overview.cost == today.aggregate(cost=Sum("cost"))["cost"]

    by_model = {
        row["model"]: row
        for row in today.values("model").annotate(
            requests=Count("pk"), errors=Count("pk", filter=ERROR), cost=Sum("cost")
        )
    }
    expected = sorted(by_model, key=lambda model: (-by_model[model]["requests"], model))
    assert [usage.model for usage in overview.top_models] == expected[:TOP_MODELS]
    for usage in overview.top_models:
        raw = by_model[usage.model]
        assert (usage.requests, usage.errors) == (raw["requests"], raw["errors"])
        assert usage.cost == pytest.approx(raw["cost"])

    window = period_window("monthly", now)
    assert overview.window == window
    assert overview.period_spend == pytest.approx(
        _raw(world.slug, started_at__gte=window.start).aggregate(cost=Sum("cost"))["cost"]
    )
    assert overview.budget_limit == Decimal(500) and overview.budget_enabled


def test_latest_errors_are_the_newest_five_of_the_last_day_of_this_org(world):
    now = timezone.now()
    overview = org_overview(_access(world), zone=UTC, now=now)
    expected = list(
        _raw(world.slug, started_at__gte=now - timedelta(hours=24))
        .filter(ERROR)
        .order_by("-started_at", "-id")
        .values_list("pk", flat=True)[:LATEST_ERRORS]
    )
    assert len(expected) == LATEST_ERRORS
    assert [log.pk for log in overview.latest_errors] == expected
    assert not set(expected) & set(world.other_error_ids)
    # A day later, yesterday's errors are no longer "latest": nothing older than 24 hours shows.
    later = org_overview(_access(world), zone=UTC, now=now + timedelta(hours=30))
    assert later.latest_errors == []


def test_the_page_shows_the_figures_of_this_org_only(client, world):
    _login(client, world, "viewer")
    client.cookies[TIME_ZONE_COOKIE] = "America/New_York"
    now = timezone.now()
    page = client.get(reverse("orgs:overview", args=[world.slug])).content.decode()
    start = day_start(now, ZoneInfo("America/New_York"))
    today = _raw(world.slug, started_at__gte=start)
    requests = today.count()
    assert re.search(rf'<p class="kpi-value">{requests:,}</p>', page)
    assert "America/New_York" in page
    window = period_window("monthly", now)
    spend = _raw(world.slug, started_at__gte=window.start).aggregate(cost=Sum("cost"))["cost"]
    assert f'<p class="kpi-value">${spend:,.2f}</p>' in page
    percent = round(spend * 100 / 500)
    assert f"{percent}% of the $500.00 budget" in page
    # Each latest error links to its log page; none of Other's does.
    error_links = re.findall(r'href="/o/([^/]+)/logs/(\d+)/"', page)
    assert len(error_links) == LATEST_ERRORS
    assert {slug for slug, _ in error_links} == {world.slug}
    assert not {int(pk) for _, pk in error_links} & set(world.other_error_ids)
    assert "Other Overview" not in page
    # Other's $400 of errors is nowhere in Acme's figures.
    other_page_spend = "$400.00"
    assert other_page_spend not in page


def test_a_neighbour_sees_its_own_figures_and_none_of_acmes(client, world):
    _login(client, world, "outsider")
    page = client.get(reverse("orgs:overview", args=[world.other_slug])).content.decode()
    assert '<p class="kpi-value">8</p>' in page  # requests today
    assert '<p class="kpi-value">100.0%</p>' in page  # error rate
    assert client.get(reverse("orgs:overview", args=[world.slug])).status_code == 404


def test_a_configured_org_with_traffic_shows_no_checklist(client, world):
    _login(client, world)
    page = client.get(reverse("orgs:overview", args=[world.slug])).content.decode()
    assert "Get started" not in page
    assert org_overview(_access(world), zone=UTC).checklist.complete


def _checklist_links(page: str) -> dict[str, bool]:
    return {
        "provider": "?edit=providers#section-providers" in page,
        "key": 'href="/o/' in page and "/settings/keys/new/" in page,
        "invite": "/settings/members/#invitations" in page,
        "budget": "?edit=budgets#section-budgets" in page,
    }


def test_the_checklist_flips_as_a_new_org_is_set_up(client, django_capture_on_commit_callbacks):
    owner = make_user("new-owner@example.test")
    fresh = make_organization("Fresh Start", owner=owner)
    client.force_login(owner)
    url = reverse("orgs:overview", args=[fresh.slug])

    def steps():
        page = client.get(url).content.decode()
        checklist = org_overview(access_organization(owner, fresh.slug), zone=UTC).checklist
        return page, (checklist.provider, checklist.key, checklist.people, checklist.traffic)

    page, done = steps()
    assert done == (False, False, False, False)
    assert "Get started" in page and "0 of 4 done" in page
    assert _checklist_links(page) == {"provider": True, "key": True, "invite": True, "budget": True}

    set_org_config(fresh, {"providers": [{"name": "openai", "type": "openai"}]})
    page, done = steps()
    assert done == (True, False, False, False)
    assert "A provider is configured" in page and "?edit=providers" not in page

    key = _ref(make_key(fresh, owner, "first").key)
    assert steps()[1] == (True, True, False, False)

    invitation = Invitation.objects.create(
        organization=fresh,
        email="soon@example.test",
        role=Role.MEMBER,
        token_hash="x" * 64,
        expires_at=timezone.now() + timedelta(days=7),
    )
    assert steps()[1] == (True, True, True, False)
    # A revoked or expired invitation is no longer someone coming; another member is.
    invitation.revoked_at = timezone.now()
    invitation.save()
    assert steps()[1] == (True, True, False, False)
    add_member(fresh, Role.VIEWER, make_user("fresh-viewer@example.test"))
    assert steps()[1] == (True, True, True, False)

    logs_ingest(rows=[log_row(key, timezone.now() - timedelta(minutes=1))])
    page, done = steps()
    assert done == (True, True, True, True)
    assert "Get started" not in page


@pytest.mark.parametrize(
    ("role", "links"),
    [
        # Alone in the org, the Owner still has people to invite; in the others' orgs the
        # Owner is the other member, so that step is done for them.
        ("owner", {"provider": True, "key": True, "invite": True, "budget": True}),
        ("admin", {"provider": True, "key": True, "invite": False, "budget": True}),
        ("member", {"provider": False, "key": True, "invite": False, "budget": False}),
        ("viewer", {"provider": False, "key": False, "invite": False, "budget": False}),
    ],
)
def test_each_role_gets_only_the_links_it_may_use(client, role, links):
    owner = make_user(f"links-owner-{role}@example.test")
    fresh = make_organization(f"Links {role}", owner=owner)
    user = owner if role == "owner" else add_member(fresh, Role(role), make_user())
    client.force_login(user)
    page = client.get(reverse("orgs:overview", args=[fresh.slug])).content.decode()
    assert "Get started" in page
    assert _checklist_links(page) == links
    assert ("People are invited" in page) == (role != "owner")
    # Every link on the page opens for this role (no link to a 403).
    for href in set(re.findall(r'href="(/o/[^"#?]+)', page)):
        assert client.get(href).status_code == 200, href


@pytest.fixture
def quiet_org(db):
    """An org with 10 rows of traffic of its own."""
    owner = make_user("quiet-owner@example.test")
    organization = make_organization("Quiet", owner=owner)
    set_org_config(organization, OPENAI_AND_ANTHROPIC)
    key = _ref(make_key(organization, owner, "main").key)
    logs_ingest(rows=_traffic(key, timezone.now(), 10, timedelta(minutes=13)))
    return organization, owner, key


def test_queries_are_the_same_for_10_and_500_rows(client, quiet_org, django_assert_max_num_queries):
    organization, owner, key = quiet_org
    client.force_login(owner)
    url = reverse("orgs:overview", args=[organization.slug])
    client.get(url)  # the session's first write is not the page's cost
    with django_assert_max_num_queries(OVERVIEW_QUERIES):
        client.get(url)
    with CaptureQueriesContext(connection) as ten:
        client.get(url)
    logs_ingest(rows=_traffic(key, timezone.now(), 490, timedelta(minutes=3), seed=1))
    assert RequestLog.objects.filter(organization=organization).count() == 500
    with CaptureQueriesContext(connection) as five_hundred:
        page = client.get(url).content.decode()
    assert len(ten) == len(five_hundred) <= OVERVIEW_QUERIES
    assert "Latest errors" in page


@pytest.mark.parametrize("period", ["daily", "weekly", "total"])
def test_spend_counts_from_the_start_of_the_configured_budget_period(client, period):
    owner = make_user(f"period-{period}@example.test")
    organization = make_organization(f"Period {period}", owner=owner)
    set_org_config(organization, {"budgets": {"enabled": True, "limit": 20, "period": period}})
    key = _ref(make_key(organization, owner, "main").key)
    now = timezone.now()
    ages = [timedelta(minutes=1), timedelta(hours=30), timedelta(days=8), timedelta(days=40)]
    logs_ingest(
        rows=[log_row(key, now - age, cost=str(n + 1)) for n, age in enumerate(ages)], now=now
    )
    overview = org_overview(access_organization(owner, organization.slug), zone=UTC, now=now)
    window = period_window(period, now)
    assert overview.window == window
    expected = sum(
        (
            row.cost
            for row in RequestLog.objects.filter(organization=organization)
            if window.start is None or row.started_at >= window.start
        ),
        Decimal(0),
    )
    assert overview.period_spend == expected
    if period == "total":
        assert expected == 10
    client.force_login(owner)
    page = client.get(reverse("orgs:overview", args=[organization.slug])).content.decode()
    label = {"daily": "today (UTC)", "weekly": "this week", "total": "in total"}[period]
    assert f'<h2 id="kpi-spend">Spend {label}</h2>' in page
