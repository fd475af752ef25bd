"""The Logs page: one org's requests newest first, each filter narrowing as a plain Python
filter over the same rows does, keyset pages, the detail drawer and the CSV export; never a row
of another org, a fixed number of queries whatever the number of rows, and a bad filter value
shown beside its field."""

import csv
import io
from dataclasses import dataclass
from datetime import timedelta

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

# Acme's rows: (request id, age, key, model, provider, status, latency ms, user, cache hit).
ACME_ROWS = [
    ("a-recent-ok", timedelta(minutes=10), "main", "gpt-4o", "openai", 200, 420, "alice", False),
    ("a-recent-5xx", timedelta(minutes=20), "second", "claude-3", "anthropic", 503, 3000, "bob", 0),
    ("a-hours-4xx", timedelta(hours=5), "main", "gpt-4o", "openai", 429, 50, "alice", False),
    ("a-hours-none", timedelta(hours=6), "second", "gpt-4o-mini", "openai", 0, 9000, "", False),
    ("a-days-ok", timedelta(days=3), "main", "claude-3", "anthropic", 200, 800, "", True),
    ("a-weeks-ok", timedelta(days=20), "second", "gpt-4o", "openai", 201, 100, "carol", False),
]
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
                metadata={"team": "search"} if request_id == "a-recent-ok" else {},
            )
            for request_id, age, key, model, provider, status, latency, user, cache_hit in ACME_ROWS
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
]


@pytest.mark.parametrize(("query", "range_name", "keep"), FILTERS, ids=[f[0] for f in FILTERS])
def test_each_filter_narrows_as_a_plain_filter_over_the_rows_does(
    client, logs, query, range_name, keep
):
    _login(client, logs.viewer_id)
    response = client.get(f"{reverse('logs:list', args=[logs.slug])}?{query}")
    assert response.status_code == 200
    assert _listed(response) == _expected(range_name, keep)


def test_key_filter_takes_the_keys_public_id(client, logs):
    _login(client, logs.viewer_id)
    url = reverse("logs:list", args=[logs.slug])
    response = client.get(url, {"range": "30d", "key": logs.keys["second"].public_id})
    assert _listed(response) == _expected("30d", lambda row: row[2] == "second")
    # Another org's key is not a choice here: a field error, no rows of it.
    response = client.get(url, {"range": "30d", "key": logs.keys["other"].public_id})
    assert response.status_code == 200
    assert "key: no key of this organization has that id." in response.content.decode()
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
    ],
)
def test_a_bad_filter_value_is_a_field_error_not_a_server_error(client, logs, query, message):
    _login(client, logs.viewer_id)
    response = client.get(f"{reverse('logs:list', args=[logs.slug])}?{query}")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "Fix the filters marked above" in response.content.decode()
    assert _listed(response) == []


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


def test_queries_are_few_and_the_same_for_10_and_200_rows(
    client, logs, django_assert_max_num_queries
):
    _login(client, logs.small_owner_id)
    small_url = reverse("logs:list", args=[logs.small_slug])
    client.get(small_url)  # the session's first write is not the page's cost
    # 7, and the budget banner every org page shows
    with django_assert_max_num_queries(8):
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
