"""The Logs page: one org's requests newest first, each filter narrowing as a plain Python
filter over the same rows does, keyset pages, the detail drawer and the CSV export; never a row
of another org, a fixed number of queries whatever the number of rows, and a bad filter value
shown beside its field."""

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orgs.roles import Role
from tests.factories import add_member, make_organization, make_user
from tests.keys.conftest import make_key
from tests.usage.conftest import KeyRef, _ref, log_row
from usage.models import RequestLog
from usage.services import logs_ingest

pytestmark = pytest.mark.django_db

# Acme's rows: (request id, age, key, model, provider, status, latency ms, user, cache hit, cost
# in USD, session, metadata).
ACME_ROWS = [
    ("a-recent-ok", timedelta(minutes=10), "main", "gpt-4o", "openai", 200, 420, "alice", False,
     "0.0042", "s-1", {"team": "search"}),
    ("a-recent-5xx", timedelta(minutes=20), "second", "claude-3", "anthropic", 503, 3000, "bob", 0,
     "0", "s-1", {"team": "ads", "tier": 2}),
    ("a-hours-4xx", timedelta(hours=5), "main", "gpt-4o", "openai", 429, 50, "alice", False,
     "0.0001", "", {"tier": "2", "beta": True}),
    ("a-hours-none", timedelta(hours=6), "second", "gpt-4o-mini", "openai", 0, 9000, "", False,
     "0", "s-2", {"beta": "true", "score": 2.5}),
    ("a-days-ok", timedelta(days=3), "main", "claude-3", "anthropic", 200, 800, "", True,
     "1.25", "s-2", {"team": "search", "note": None}),
    ("a-weeks-ok", timedelta(days=20), "second", "gpt-4o", "openai", 201, 100, "carol", False,
     "0.5", "", {"tier": 2.0, "team": "Search"}),
]  # fmt: skip
RANGES = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
RANGES["30d"] = timedelta(days=30)
BULK_ROWS = 200


@dataclass(frozen=True)
class LogsWorld:
    slug: str
    other_slug: str
    small_slug: str
    bulk_slug: str
    viewer_id: int
    member_id: int
    outsider_id: int
    small_owner_id: int
    bulk_owner_id: int
    keys: dict[str, KeyRef]


@pytest.fixture(scope="module")
def logs(django_db_setup, django_db_blocker) -> LogsWorld:
    """Acme (two keys, the rows above), Other (one row a minute old), and two orgs of 10 and 200
    rows for the query counts; built once through `logs_ingest`, rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        now = timezone.now()
        owner = make_user("logs-owner@example.test")
        acme = make_organization("Acme Logs", owner=owner)
        viewer = add_member(acme, Role.VIEWER, make_user("logs-viewer@example.test"))
        member = add_member(acme, Role.MEMBER, make_user("logs-member@example.test"))
        keys = {
            "main": _ref(make_key(acme, owner, "main").key),
            "second": _ref(make_key(acme, owner, "second").key),
        }
        outsider = make_user("logs-outsider@example.test")
        other = make_organization("Other Logs", owner=outsider)
        keys["other"] = _ref(make_key(other, outsider, "other-main").key)
        rows = [
            log_row(
                keys[key],
                now - age,
                request_id=request_id,
                model=model,
                provider=provider,
                status_code=status,
                latency_ms=latency,
                user=user,
                cache_hit=bool(cache_hit),
                error="upstream failed" if status >= 500 else "",
                cost=float(cost),
                session_id=session,
                metadata=metadata,
            )
            for (
                request_id,
                age,
                key,
                model,
                provider,
                status,
                latency,
                user,
                cache_hit,
                cost,
                session,
                metadata,
            ) in ACME_ROWS
        ]
        rows.append(
            log_row(keys["other"], now - timedelta(minutes=1), request_id="o-recent", user="alice")
        )
        sized = {}
        for name, count in (("small", 10), ("bulk", BULK_ROWS)):
            org_owner = make_user(f"logs-{name}@example.test")
            org = make_organization(f"Logs {name}", owner=org_owner)
            key = _ref(make_key(org, org_owner, f"{name}-key").key)
            rows += [
                log_row(key, now - timedelta(minutes=30, seconds=index), model=f"model-{index % 7}")
                for index in range(count)
            ]
            sized[name] = (org.slug, org_owner.pk)
        result = logs_ingest(rows=rows, now=now)
        assert result.rejected == [] and result.accepted == len(rows)
        yield LogsWorld(
            slug=acme.slug,
            other_slug=other.slug,
            small_slug=sized["small"][0],
            bulk_slug=sized["bulk"][0],
            viewer_id=viewer.pk,
            member_id=member.pk,
            outsider_id=outsider.pk,
            small_owner_id=sized["small"][1],
            bulk_owner_id=sized["bulk"][1],
            keys=keys,
        )
        transaction.set_rollback(True)


def _login(client, user_id):
    from members.models import User

    client.force_login(User.objects.get(pk=user_id))
    return client


def _listed(response) -> list[str]:
    """The request ids of the table's rows, in order."""
    page = response.content.decode()
    found = []
    for part in page.split('data-request-id="')[1:]:
        found.append(part.split('"', 1)[0])
    return found


def _expected(range_name="24h", keep=lambda row: True) -> list[str]:
    rows = [row for row in ACME_ROWS if row[1] < RANGES[range_name] and keep(row)]
    return [row[0] for row in sorted(rows, key=lambda row: row[1])]


def test_viewer_sees_the_last_24_hours_newest_first_and_no_other_org(client, logs):
    _login(client, logs.viewer_id)
    response = client.get(reverse("logs:list", args=[logs.slug]))
    assert response.status_code == 200
    assert _listed(response) == _expected()
    assert "o-recent" not in response.content.decode()


def _is_error(status):
    return status >= 400 or status < 100


_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _meta(name, text):
    """The metadata filter as the README states it: a string value equals the text; a number
    matches text that is a JSON number of the same value; true, false and null their words."""

    def keep(row):
        metadata = row[11]
        if name not in metadata:
            return False
        value = metadata[name]
        if isinstance(value, str):
            return value == text
        if value is None or isinstance(value, bool):
            return text == {None: "null", True: "true", False: "false"}[value]
        return bool(_JSON_NUMBER.fullmatch(text)) and float(text) == value

    return keep


def _cost(row):
    return Decimal(row[9])


FILTERS = [
    ("range=1h", "1h", lambda row: True),
    ("range=7d", "7d", lambda row: True),
    ("range=30d", "30d", lambda row: True),
    ("range=30d&model=gpt-4o", "30d", lambda row: row[3] == "gpt-4o"),
    ("range=30d&provider=anthropic", "30d", lambda row: row[4] == "anthropic"),
    ("range=30d&status=2xx", "30d", lambda row: 200 <= row[5] < 300),
    ("range=30d&status=4xx", "30d", lambda row: 400 <= row[5] < 500),
    ("range=30d&status=5xx", "30d", lambda row: 500 <= row[5] < 600),
    ("range=30d&errors_only=on", "30d", lambda row: _is_error(row[5])),
    ("range=30d&min_latency=800", "30d", lambda row: row[6] >= 800),
    ("range=30d&request_id=a-days-ok", "30d", lambda row: row[0] == "a-days-ok"),
    ("range=30d&user=alice", "30d", lambda row: row[7] == "alice"),
    ("range=7d&model=gpt-4o&errors_only=on", "7d", lambda r: r[3] == "gpt-4o" and _is_error(r[5])),
    (
        "range=30d&provider=openai&min_latency=100&user=",
        "30d",
        lambda r: r[4] == "openai" and r[6] >= 100,
    ),
    ("range=30d&min_cost=0.001", "30d", lambda r: _cost(r) >= Decimal("0.001")),
    ("range=30d&max_cost=0.0042", "30d", lambda r: _cost(r) <= Decimal("0.0042")),
    ("range=30d&min_cost=0.0001&max_cost=0.5", "30d", lambda r: 0.0001 <= float(r[9]) <= 0.5),
    ("range=30d&min_cost=0&max_cost=0", "30d", lambda r: _cost(r) == 0),
    ("range=30d&session=s-1", "30d", lambda r: r[10] == "s-1"),
    ("range=30d&session=s-2&min_cost=1", "30d", lambda r: r[10] == "s-2" and _cost(r) >= 1),
    ("range=30d&meta=team%3Dsearch", "30d", _meta("team", "search")),
    ("range=30d&meta=team%3DSEARCH", "30d", _meta("team", "SEARCH")),
    ("range=30d&meta=tier%3D2", "30d", _meta("tier", "2")),
    ("range=30d&meta=tier%3D2.0", "30d", _meta("tier", "2.0")),
    ("range=30d&meta=beta%3Dtrue", "30d", _meta("beta", "true")),
    ("range=30d&meta=note%3Dnull", "30d", _meta("note", "null")),
    ("range=30d&meta=beta%3D1", "30d", _meta("beta", "1")),
    ("range=30d&meta=note%3D", "30d", _meta("note", "")),
    ("range=30d&meta=team%3Dnull", "30d", _meta("team", "null")),
    ("range=30d&meta=score%3D2.5", "30d", _meta("score", "2.5")),
    ("range=30d&meta=team%3D", "30d", _meta("team", "")),
    ("range=30d&meta=missing%3Dx", "30d", _meta("missing", "x")),
    ("range=30d&meta=a%3Db%3Dc", "30d", _meta("a", "b=c")),
    ("range=30d&meta=tier%3D2e0", "30d", _meta("tier", "2e0")),
    ("range=30d&meta=tier%3D9223372036854775808", "30d", _meta("tier", "9223372036854775808")),
    ("range=30d&meta=tier%3D1e9999999", "30d", _meta("tier", "1e9999999")),
    ("range=30d&meta=tier%3DNaN", "30d", _meta("tier", "NaN")),
    ("range=30d&meta=tier%3D%202", "30d", _meta("tier", " 2")),
    ("range=30d&meta=team.x__y%3Dsearch", "30d", _meta("team.x__y", "search")),
    (
        "range=7d&meta=team%3Dsearch&session=s-1&max_cost=0.01&user=alice",
        "7d",
        lambda r: _meta("team", "search")(r) and r[10] == "s-1" and float(r[9]) <= 0.01,
    ),
    (
        "range=30d&meta=tier%3D2&errors_only=on&key_filter_none=1",
        "30d",
        lambda r: _meta("tier", "2")(r) and _is_error(r[5]),
    ),
]


@pytest.mark.parametrize(("query", "range_name", "keep"), FILTERS, ids=[f[0] for f in FILTERS])
def test_each_filter_narrows_as_a_plain_filter_over_the_rows_does(
    client, logs, query, range_name, keep
):
    _login(client, logs.viewer_id)
    response = client.get(f"{reverse('logs:list', args=[logs.slug])}?{query}")
    assert response.status_code == 200
    assert _listed(response) == _expected(range_name, keep)


def _local(moment, zone) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("zone_name", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def test_a_custom_range_is_read_in_the_viewers_zone(client, logs, zone_name):
    """From 4 days ago to 1 hour ago, written as the viewer's wall-clock times: the rows between,
    whatever the zone."""
    _login(client, logs.viewer_id)
    client.cookies["tz"] = zone_name
    zone = ZoneInfo(zone_name)
    now = timezone.now()
    url = reverse("logs:list", args=[logs.slug])
    query = {"range": "custom", "from": _local(now - timedelta(days=4), zone)}
    response = client.get(url, {**query, "to": _local(now - timedelta(hours=1), zone)})
    assert response.status_code == 200
    assert _listed(response) == _expected(
        "30d", lambda row: timedelta(hours=1) < row[1] < timedelta(days=4)
    )
    # No "to": up to now.
    assert _listed(client.get(url, query)) == _expected(
        "7d", lambda row: row[1] < timedelta(days=4)
    )
    # A preset range ignores from and to.
    assert _listed(client.get(url, {**query, "range": "1h"})) == _expected("1h")


def test_times_are_shown_in_the_viewers_zone_with_utc_on_hover_and_said_once(client, logs):
    _login(client, logs.viewer_id)
    client.cookies["tz"] = "Asia/Kolkata"
    log = RequestLog.objects.get(request_id="a-days-ok", organization__slug=logs.slug)
    page = client.get(reverse("logs:list", args=[logs.slug]), {"range": "7d"}).content.decode()
    assert page.count("Times are in Asia/Kolkata") == 1
    assert "Used when the range is Custom; in your time zone, Asia/Kolkata." in page
    local = log.started_at.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M:%S")
    utc = log.started_at.astimezone(UTC).isoformat()
    assert f'title="{utc}">{local}</time>' in page
    assert "Time (Asia/Kolkata)" in page
    # Without the cookie: UTC.
    del client.cookies["tz"]
    page = client.get(reverse("logs:list", args=[logs.slug]), {"range": "7d"}).content.decode()
    assert "Times are in UTC" in page
    assert f">{log.started_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}</time>" in page


def test_key_filter_takes_the_keys_public_id_or_name(client, logs):
    _login(client, logs.viewer_id)
    url = reverse("logs:list", args=[logs.slug])
    expected = _expected("30d", lambda row: row[2] == "second")
    response = client.get(url, {"range": "30d", "key": logs.keys["second"].public_id})
    assert _listed(response) == expected
    assert _listed(client.get(url, {"range": "30d", "key": " second "})) == expected
    # Another org's key, by id or by name, is not found here: a field error, no rows of it.
    for other in (logs.keys["other"].public_id, "other-main"):
        response = client.get(url, {"range": "30d", "key": other})
        assert response.status_code == 200
        assert "key: no key of this organization has that name or id" in response.content.decode()
        assert _listed(response) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("range=1y", "range: must be one of 1h, 24h, 7d, 30d."),
        ("status=3xx", "status: must be one of 2xx, 4xx, 5xx."),
        ("min_latency=fast", "min_latency: enter a whole number of milliseconds."),
        ("min_latency=-1", "greater than or equal to 0"),
        ("model=" + "x" * 201, "at most 200 characters"),
        ("user=a%00b", "Null characters are not allowed"),
        ("min_cost=cheap", "min_cost: enter an amount in USD, e.g. 0.05."),
        ("max_cost=-0.5", "max_cost: must be 0 or more."),
        ("min_cost=0.00000000001", "min_cost: at most 10 decimal places."),
        ("min_cost=1e9999999", "min_cost: at most 20 digits."),
        ("max_cost=12345678901", "max_cost: at most 10 digits before the decimal point."),
        ("max_cost=NaN", "max_cost: enter an amount in USD"),
        ("min_cost=1&max_cost=0.5", "max_cost: must be at least min_cost; raise it or clear it."),
        ("session=" + "s" * 201, "at most 200 characters"),
        ("meta=team", "meta: write it as name=value, e.g. team=search."),
        ("meta=%3Dsearch", "meta: write it as name=value, e.g. team=search."),
        ("range=custom", "from: pick the start of the custom range."),
        ("range=custom&from=yesterday", "from: enter a date and time, e.g. 2026-03-01T09:30."),
        ("range=custom&from=2026-01-01T00:00&to=lunch", "to: enter a date and time"),
        (
            "range=custom&from=2026-01-01T00:00&to=2026-02-01T00:01",
            "from: a custom range is at most 31 days wide; pick a later start or an earlier end.",
        ),
        ("range=custom&from=2000-01-01T00:00", "from: a custom range is at most 31 days wide"),
        (
            "range=custom&from=2026-01-02T00:00&to=2026-01-01T23:00",
            "to: must be later than from; pick a later end or clear it.",
        ),
        ("range=custom&from=2026-01-02T00:00&to=2026-01-02T00:00", "to: must be later than from"),
        (
            "range=custom&from=0001-01-01T00:00",
            "from: pick a time between the years 2000 and 9000.",
        ),
        (
            "range=custom&from=9999-12-31T23:59",
            "from: pick a time between the years 2000 and 9000.",
        ),
    ],
)
def test_a_bad_filter_value_is_a_field_error_not_a_server_error(client, logs, query, message):
    _login(client, logs.viewer_id)
    response = client.get(f"{reverse('logs:list', args=[logs.slug])}?{query}")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "Fix the filters marked above" in response.content.decode()
    assert _listed(response) == []


def test_a_query_without_a_range_reads_and_shows_the_default_range(client, logs):
    _login(client, logs.viewer_id)
    response = client.get(reverse("logs:list", args=[logs.slug]), {"user": "alice", "range": ""})
    assert _listed(response) == _expected("24h", lambda row: row[7] == "alice")
    assert '<option value="24h" selected>' in response.content.decode()


def test_htmx_gets_the_table_alone(client, logs):
    _login(client, logs.viewer_id)
    response = client.get(
        reverse("logs:list", args=[logs.slug]), {"range": "1h"}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="log-table">')
    assert "<html" not in page
    assert _listed(response) == _expected("1h")


def test_keys_link_to_their_page_only_for_roles_that_see_keys(client, logs):
    key_url = reverse("keys:detail", args=[logs.slug, logs.keys["main"].public_id])
    _login(client, logs.viewer_id)
    assert key_url not in client.get(reverse("logs:list", args=[logs.slug])).content.decode()
    _login(client, logs.member_id)
    assert key_url in client.get(reverse("logs:list", args=[logs.slug])).content.decode()


def test_keyset_pages_walk_every_row_once_and_stay_stable_while_rows_arrive(client, logs):
    _login(client, logs.bulk_owner_id)
    url = reverse("logs:list", args=[logs.bulk_slug])
    expected = list(
        RequestLog.objects.filter(organization__slug=logs.bulk_slug)
        .order_by("-started_at", "-id")
        .values_list("request_id", flat=True)
    )
    assert len(expected) == BULK_ROWS
    seen, query, pages = [], "", 0
    while True:
        response = client.get(f"{url}{query}")
        seen += _listed(response)
        pages += 1
        if pages == 2:
            # A new request arrives: it lands before the first page, not in the later ones.
            key = RequestLog.objects.filter(organization__slug=logs.bulk_slug).first().key
            logs_ingest(rows=[log_row(_ref(key), timezone.now(), request_id="late-arrival")])
        page = response.content.decode()
        if 'rel="next"' not in page:
            break
        query = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
        query = query.replace("&amp;", "&")
    assert seen == expected
    assert pages == 4
    assert "late-arrival" in _listed(client.get(url))


def _queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# The page query's statement timeout on PostgreSQL: set_config, and in the test's transaction a
# savepoint around it, rolled back and released (in a request of its own: set_config alone).
TIMEOUT_QUERIES = 4 if connection.vendor == "postgresql" else 0


def test_queries_are_few_and_the_same_for_10_and_200_rows(
    client, logs, django_assert_max_num_queries
):
    _login(client, logs.small_owner_id)
    small_url = reverse("logs:list", args=[logs.small_slug])
    client.get(small_url)  # the session's first write is not the page's cost
    # 7, the budget banner every org page shows, and the statement timeout's statements
    with django_assert_max_num_queries(8 + TIMEOUT_QUERIES):
        client.get(small_url)
    small = _queries_for(client, small_url)
    _login(client, logs.bulk_owner_id)
    bulk_url = reverse("logs:list", args=[logs.bulk_slug])
    client.get(bulk_url)
    bulk = _queries_for(client, bulk_url)
    filtered = _queries_for(client, f"{bulk_url}?range=7d&model=model-3&errors_only=on")
    assert small == bulk == filtered


def test_detail_shows_every_field_of_a_request_of_this_org_only(client, logs):
    _login(client, logs.viewer_id)
    log = RequestLog.objects.get(request_id="a-recent-ok", organization__slug=logs.slug)
    response = client.get(reverse("logs:detail", args=[logs.slug, log.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    for text in ("a-recent-ok", "gpt-4o", "openai", "420 ms", "180 ms", "alice", "team", "search"):
        assert text in page
    drawer = client.get(
        reverse("logs:detail", args=[logs.slug, log.pk]), headers={"HX-Request": "true"}
    )
    assert "<html" not in drawer.content.decode() and "a-recent-ok" in drawer.content.decode()
    other = RequestLog.objects.get(request_id="o-recent")
    assert client.get(reverse("logs:detail", args=[logs.slug, other.pk])).status_code == 404
    assert client.get(f"/o/{logs.slug}/logs/{2**70}/").status_code == 404
    # The outsider owns the row, but not through Acme's URL.
    _login(client, logs.outsider_id)
    assert client.get(reverse("logs:detail", args=[logs.slug, log.pk])).status_code == 404


def _links(page: str) -> dict[str, str]:
    """The page's links by their text (an icon inside a link is no part of its text)."""
    return {
        re.sub(r"<[^>]+>", "", text).strip(): href.replace("&amp;", "&")
        for href, text in re.findall(r'<a [^>]*?href="([^"]*)"[^>]*>(.*?)</a>', page, re.S)
    }


def test_detail_says_the_zone_and_links_to_more_from_its_key_session_and_user(client, logs):
    _login(client, logs.viewer_id)
    client.cookies["tz"] = "Europe/Paris"
    log = RequestLog.objects.get(request_id="a-hours-4xx", organization__slug=logs.slug)
    page = client.get(reverse("logs:detail", args=[logs.slug, log.pk])).content.decode()
    assert "Times are in Europe/Paris" in page
    paris = log.started_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (
        f'title="{log.started_at.astimezone(UTC).isoformat()}">{paris:%Y-%m-%d %H:%M:%S}.' in page
    )
    for text in ("Cached tokens", "Fallback used", "Received", "429", "<code>true</code>"):
        assert text in page
    links = _links(page)
    # A Viewer does not see key pages, but may read the key's other requests.
    assert reverse("keys:detail", args=[logs.slug, logs.keys["main"].public_id]) not in page
    assert "More from this session" not in page  # no session on this request
    by_key = client.get(links["More from this key"])
    assert _listed(by_key) == _expected("30d", lambda row: row[2] == "main")
    by_user = client.get(links["More from this user"])
    assert _listed(by_user) == _expected("30d", lambda row: row[7] == "alice")

    other = RequestLog.objects.get(request_id="a-hours-none", organization__slug=logs.slug)
    page = client.get(reverse("logs:detail", args=[logs.slug, other.pk])).content.decode()
    assert "More from this user" not in page  # no user on this one
    by_session = client.get(_links(page)["More from this session"])
    assert _listed(by_session) == _expected("30d", lambda row: row[10] == "s-2")

    _login(client, logs.member_id)
    page = client.get(reverse("logs:detail", args=[logs.slug, log.pk])).content.decode()
    assert reverse("keys:detail", args=[logs.slug, logs.keys["main"].public_id]) in page


def test_more_from_an_older_request_reads_a_custom_month_around_it(client, logs):
    key = RequestLog.objects.filter(organization__slug=logs.slug).first().key
    started = timezone.now() - timedelta(days=60)
    logs_ingest(rows=[log_row(_ref(key), started, request_id="old-one", session_id="s-old")])
    _login(client, logs.viewer_id)
    log = RequestLog.objects.get(request_id="old-one")
    page = client.get(reverse("logs:detail", args=[logs.slug, log.pk])).content.decode()
    link = _links(page)["More from this session"]
    assert "range=custom" in link
    assert _listed(client.get(link)) == ["old-one"]


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_export_streams_the_filtered_rows_with_the_filter_in_the_file_name(client, logs):
    _login(client, logs.viewer_id)
    url = reverse("logs:export", args=[logs.slug])
    response = client.get(url, {"range": "30d", "model": "gpt-4o", "cursor": "ignored"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="prism-logs-acme-logs-30d-model-gpt-4o.csv"' in response["Content-Disposition"]
    rows = _csv(response)
    assert [row["request_id"] for row in rows] == _expected("30d", lambda r: r[3] == "gpt-4o")
    first = rows[0]
    assert first["key_name"] == "main" and first["user"] == "alice"
    assert first["metadata"] == '{"team": "search"}'
    # The default range bounds an unfiltered export; no row of another org.
    everything = _csv(client.get(url))
    assert [row["request_id"] for row in everything] == _expected()


def test_export_refuses_a_bad_filter_with_the_field_named(client, logs):
    _login(client, logs.viewer_id)
    response = client.get(reverse("logs:export", args=[logs.slug]), {"status": "9xx"})
    assert response.status_code == 400
    assert "status: must be one of 2xx, 4xx, 5xx." in response.content.decode()


def test_exports_keep_utc_whatever_the_viewers_zone(client, logs):
    _login(client, logs.viewer_id)
    client.cookies["tz"] = "Asia/Tokyo"
    log = RequestLog.objects.get(request_id="a-recent-ok", organization__slug=logs.slug)
    rows = _csv(client.get(reverse("logs:export", args=[logs.slug]), {"request_id": "a-recent-ok"}))
    assert rows[0]["started_at"] == log.started_at.astimezone(UTC).isoformat()
    assert rows[0]["started_at"].endswith("+00:00")


def test_the_csv_export_keeps_text_the_gateway_recorded_from_running_as_a_formula(client, logs):
    # End users and models come from whoever calls the gateway: a spreadsheet must show them, not
    # run them. Numbers stay numbers, negative or not.
    _login(client, logs.viewer_id)
    RequestLog.objects.filter(request_id="a-recent-ok", organization__slug=logs.slug).update(
        end_user='=HYPERLINK("https://attacker.example","x")', model="@SUM(1+1)"
    )
    rows = _csv(client.get(reverse("logs:export", args=[logs.slug]), {"request_id": "a-recent-ok"}))
    assert rows[0]["user"] == '\'=HYPERLINK("https://attacker.example","x")'
    assert rows[0]["model"] == "'@SUM(1+1)"
    assert not rows[0]["latency_ms"].startswith("'")


def _ndjson(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    assert body.endswith("\n")
    return [json.loads(line) for line in body.splitlines()]


def test_ndjson_export_streams_one_object_a_line_with_the_filter_in_the_file_name(client, logs):
    _login(client, logs.viewer_id)
    client.cookies["tz"] = "America/New_York"
    url = reverse("logs:export_ndjson", args=[logs.slug])
    query = {"range": "30d", "meta": "team=search", "follow": "on", "cursor": "x"}
    response = client.get(url, query)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/x-ndjson"
    name = "prism-logs-acme-logs-30d-meta-team_search.ndjson"
    assert f'filename="{name}"' in response["Content-Disposition"]
    rows = _ndjson(response)
    assert [row["request_id"] for row in rows] == _expected("30d", _meta("team", "search"))
    first = rows[0]
    log = RequestLog.objects.get(request_id=first["request_id"], organization__slug=logs.slug)
    assert first["started_at"] == log.started_at.astimezone(UTC).isoformat()
    assert first["metadata"] == {"team": "search"}
    assert first["cost"] == "0.0042000000" and first["latency_ms"] == 420
    assert first["key"] == logs.keys["main"].public_id and first["cache_hit"] is False
    assert list(first) == [
        "started_at", "request_id", "key", "key_name", "model", "provider", "status_code",
        "latency_ms", "ttft_ms", "input_tokens", "output_tokens", "cached_tokens", "cost",
        "cache_hit", "fallback_used", "user", "session_id", "error", "metadata",
    ]  # fmt: skip
    # Every row of the default range, none of another org; a bad filter is a 400 naming it.
    assert [row["request_id"] for row in _ndjson(client.get(url))] == _expected()
    response = client.get(url, {"range": "custom"})
    assert response.status_code == 400
    assert "from: pick the start of the custom range." in response.content.decode()


def test_a_custom_range_names_its_utc_bounds_in_the_file_name(client, logs):
    _login(client, logs.viewer_id)
    client.cookies["tz"] = "Europe/Paris"
    response = client.get(
        reverse("logs:export", args=[logs.slug]),
        {"range": "custom", "from": "2026-01-10T09:30", "to": "2026-01-12T00:00", "user": "bob"},
    )
    name = "prism-logs-acme-logs-custom-from-20260110T0830Z-to-20260111T2300Z-user-bob.csv"
    assert f'filename="{name}"' in response["Content-Disposition"]


def test_the_page_links_both_exports_with_its_filters(client, logs):
    _login(client, logs.viewer_id)
    page = client.get(
        reverse("logs:list", args=[logs.slug]), {"range": "7d", "session": "s-1", "follow": "on"}
    ).content.decode()
    links = _links(page)
    assert links["Export these rows as CSV"].endswith("export.csv?range=7d&session=s-1")
    assert links["NDJSON"].endswith("export.ndjson?range=7d&session=s-1")


def _poll_url(page: str) -> str | None:
    """Where the page asks for new requests while following (None: it does not follow)."""
    match = re.search(r'<tbody id="log-follow" hx-get="([^"]*)" hx-trigger="every 5s"', page)
    return match.group(1).replace("&amp;", "&") if match else None


def _new_row(logs, age=timedelta(0), **fields) -> str:
    key = logs.keys[fields.pop("key", "main")]
    row = log_row(key, timezone.now() - age, **fields)
    assert logs_ingest(rows=[row]).accepted == 1
    return row["request_id"]


def test_follow_polls_for_the_rows_above_the_newest_shown_and_prepends_them(client, logs):
    _login(client, logs.viewer_id)
    url = reverse("logs:list", args=[logs.slug])
    page = client.get(url, {"range": "1h", "model": "gpt-4o", "follow": "on"}).content.decode()
    assert "Following new requests" in page
    poll = _poll_url(page)
    assert poll is not None and "model=gpt-4o" in poll and "after=" in poll
    # Nothing new: 204, htmx leaves the table as it is.
    assert client.get(poll, headers={"HX-Request": "true"}).status_code == 204

    newest = _new_row(logs, model="gpt-4o")
    _new_row(logs, model="claude-3")  # not this filter's
    _new_row(logs, key="other", model="gpt-4o")  # another org's
    older = _new_row(logs, age=timedelta(minutes=30), model="gpt-4o")  # below the top row
    response = client.get(poll, headers={"HX-Request": "true"})
    assert response.status_code == 200
    answer = response.content.decode()
    # A new poller, then the new rows: swapped in place of the old poller, above the table's rows.
    assert answer.lstrip().startswith('<tbody id="log-follow"')
    assert answer.index('id="log-follow"') < answer.index('class="log-new"')
    assert _listed(response) == [newest]
    assert older not in answer
    # The answer replaces the poller with one that marks the new top row.
    next_poll = _poll_url(answer)
    assert next_poll and next_poll != poll
    assert client.get(next_poll).status_code == 204

    # Unticked, the table has no poller, so the polling stops.
    page = client.get(url, {"range": "1h", "model": "gpt-4o"}).content.decode()
    assert _poll_url(page) is None and "Following new requests" not in page


def test_follow_polls_only_on_the_newest_page_and_while_the_range_reaches_now(client, logs):
    _login(client, logs.bulk_owner_id)
    url = reverse("logs:list", args=[logs.bulk_slug])
    first = client.get(url, {"follow": "on"}).content.decode()
    assert _poll_url(first) is not None
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    page = client.get(f"{url}{older}").content.decode()
    assert "follow=on" in older and _poll_url(page) is None
    assert "New requests join the newest page only" in page
    now = timezone.now()
    ended = {"follow": "on", "range": "custom", "from": _local(now - timedelta(days=1), UTC)}
    ended["to"] = _local(now - timedelta(minutes=1), UTC)
    page = client.get(url, ended).content.decode()
    assert _poll_url(page) is None and "clear “To” to follow new ones" in page
    # An empty first page still follows, from the start of its range.
    page = client.get(url, {"follow": "on", "model": "not-yet"}).content.decode()
    poll = _poll_url(page)
    assert poll is not None and _listed(client.get(poll)) == []
    key = RequestLog.objects.filter(organization__slug=logs.bulk_slug).first().key
    logs_ingest(rows=[log_row(_ref(key), now - timedelta(hours=2), model="not-yet")])
    assert len(_listed(client.get(poll))) == 1


def test_a_follow_poll_shows_at_most_a_page_and_says_when_more_arrived(client, logs):
    from usage.selectors import newest_marker

    _login(client, logs.bulk_owner_id)
    url = reverse("logs:newer", args=[logs.bulk_slug])
    after = newest_marker(timezone.now() - timedelta(hours=2), 0)
    response = client.get(url, {"after": after})
    assert len(_listed(response)) == 50
    assert "More new requests arrived than are shown here" in response.content.decode()


@pytest.mark.parametrize(
    "after", ["", "junk", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgMF0~forged", "x" * 300]
)
def test_a_follow_poll_with_a_missing_or_altered_mark_is_refused(client, logs, after):
    _login(client, logs.viewer_id)
    response = client.get(reverse("logs:newer", args=[logs.slug]), {"after": after})
    assert response.status_code == 400
    assert "after: the mark of the newest row shown is missing or was changed" in (
        response.content.decode()
    )


def test_a_follow_poll_reads_a_fixed_number_of_queries(client, logs, django_assert_max_num_queries):
    from usage.selectors import newest_marker

    _login(client, logs.bulk_owner_id)
    url = reverse("logs:newer", args=[logs.bulk_slug])
    client.get(url, {"after": newest_marker(timezone.now(), 0)})
    with django_assert_max_num_queries(6 + TIMEOUT_QUERIES):
        assert client.get(url, {"after": newest_marker(timezone.now(), 0)}).status_code == 204
    few = _queries_for(
        client, f"{url}?after={newest_marker(timezone.now() - timedelta(hours=1), 0)}"
    )
    many = _queries_for(
        client, f"{url}?after={newest_marker(timezone.now() - timedelta(days=1), 0)}"
    )
    assert few == many


def test_the_first_pages_plan_names_the_log_table(logs):
    from orgs.models import Organization
    from usage.selectors import LogFilter, request_log_page_plan

    organization = Organization.objects.get(slug=logs.bulk_slug)
    since = timezone.now() - timedelta(days=1)
    plan = request_log_page_plan(organization, LogFilter(since=since, model="model-3"))
    assert "usage_requestlog" in plan or "reqlog" in plan
    if connection.vendor == "postgresql":
        assert "actual time" in plan and "Buffers" in plan
