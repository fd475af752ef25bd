"""The audit log page: Owners and Admins, newest first, keyset-paginated, typed values,
filters kept in the URL, and its CSV export."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.services import membership_change_role
from orgs import audit, services
from orgs.models import AuditEvent
from orgs.selectors import AUDIT_PAGE_SIZE
from prism_site.actor import Actor
from tests.orgs.reading import page_text


def test_newest_first_and_paginated(client, organization, owner, other_organization):
    for number in range(AUDIT_PAGE_SIZE + 5):
        audit.record(
            organization=organization,
            actor=Actor(owner),
            action="test.event",
            target=f"t{number:03}",
        )
    audit.record(
        organization=other_organization, actor=Actor(owner), action="test.event", target="elsewhere"
    )
    client.force_login(owner)
    first = client.get(reverse("orgs:audit", args=[organization.slug])).content.decode()
    assert first.index(f"t{AUDIT_PAGE_SIZE + 4:03}") < first.index(f"t{AUDIT_PAGE_SIZE:03}")
    assert "t004" not in first and "elsewhere" not in first
    older = first.split('href="?cursor=')[1].split('"')[0]
    second = client.get(
        reverse("orgs:audit", args=[organization.slug]), {"cursor": older}
    ).content.decode()
    assert "t004" in second and "t000" in second
    # the organization.create event of the fixture is the oldest row
    assert "organization.create" in second
    assert "Older" not in second and ">Newest</a>" in second and "← Newer</a>" in second


def test_events_of_one_moment_are_neither_skipped_nor_repeated(client, organization, owner):
    """Events written in one transaction can share a time: the id orders them within it."""
    moment = timezone.now()
    for number in range(AUDIT_PAGE_SIZE * 2):
        audit.record(
            organization=organization, actor=Actor(owner), action="test.tie", target=f"t{number:03}"
        )
    AuditEvent.objects.filter(action="test.tie").update(created_at=moment)
    client.force_login(owner)
    url = reverse("orgs:audit", args=[organization.slug])
    seen, query = [], ""
    while True:
        page = client.get(url + query).content.decode()
        seen += re.findall(r">(t\d{3})</td>", page)
        found = re.search(r'href="(\?cursor=[^"]+)"[^>]*>Older', page)
        if found is None:
            break
        query = found[1]
    assert seen == [f"t{number:03}" for number in reversed(range(AUDIT_PAGE_SIZE * 2))]


@pytest.mark.parametrize("cursor", ["x", "%00", "1~2", "9" * 1000])
def test_bad_cursor_shows_the_first_page(client, organization, owner, cursor):
    client.force_login(owner)
    response = client.get(reverse("orgs:audit", args=[organization.slug]), {"cursor": cursor})
    assert response.status_code == 200
    assert "That page link is out of date or was changed" in response.content.decode()


def test_an_entry_records_who_acted_from_where_and_through_which_key(client, organization, owner):
    actor = Actor(owner, ip_address="203.0.113.5", api_key_id="key_automation01")
    entry = audit.record(organization=organization, actor=actor, action="test.event", target="t")
    entry.refresh_from_db()
    assert (entry.actor, entry.actor_email, entry.ip_address, entry.api_key_id) == (
        owner,
        owner.email,
        "203.0.113.5",
        "key_automation01",
    )
    client.force_login(owner)
    page = client.get(reverse("orgs:audit", args=[organization.slug])).content.decode()
    assert "via <code>key_automation01</code>" in page


def test_a_dashboard_action_records_the_client_address_and_no_key(client, organization, owner):
    client.force_login(owner)
    client.post(
        reverse("orgs:rename", args=[organization.slug]),
        {"name": "Renamed"},
        REMOTE_ADDR="198.51.100.23",
    )
    entry = organization.audit_events.filter(action="organization.rename").get()
    assert (entry.actor, entry.ip_address, entry.api_key_id) == (owner, "198.51.100.23", "")


# -- Reading, filtering, exporting ---------------------------------------------------------------


def audit_url(organization, name="orgs:audit"):
    return reverse(name, args=[organization.slug])


def entries_text(html: str) -> str:
    return page_text(html.split('id="audit-table"', 1)[1])


def test_a_role_change_and_a_config_change_read_before_and_after_in_the_viewers_zone(
    client, organization, owner, member
):
    membership = organization.memberships.get(user=member)
    membership_change_role(
        organization=organization, membership_id=membership.pk, role="admin", actor=Actor(owner)
    )
    services.config_section_update(
        organization=organization,
        actor=Actor(owner),
        base_version=1,
        section="budgets",
        values={"enabled": True, "limit": "500"},
    )
    client.force_login(owner)
    client.cookies["tz"] = "Europe/Paris"
    html = client.get(audit_url(organization)).content.decode()
    text = entries_text(html)
    assert "Changed a member's role" in text and "Role: Member → Admin" in text
    assert "budgets.enabled: off → on" in text
    assert "budgets.limit: none → $500.00 USD" in text
    assert "Times are in Europe/Paris" in page_text(html)
    when = re.search(r'<time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', html)
    assert when[3] == "just now" and when[2].endswith("Europe/Paris")
    assert "{" not in text and "None" not in text and "False" not in text


@pytest.fixture
def crowd(organization, owner, admin):
    """Events of two actors, three actions and three days (UTC), oldest first."""
    day = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    rows = [
        ("member.remove", owner, "", day - timedelta(days=2)),
        ("key.revoke", admin, "key_robot0001", day - timedelta(days=1)),
        ("member.remove", admin, "", day - timedelta(days=1)),
        ("key.revoke", owner, "", day),
    ]
    for number, (action, user, key_id, moment) in enumerate(rows):
        entry = audit.record(
            organization=organization,
            actor=Actor(user, api_key_id=key_id),
            action=action,
            target=f"c{number}",
            details={"role": "viewer"} if action == "member.remove" else {"key_id": "key_x"},
        )
        AuditEvent.objects.filter(pk=entry.pk).update(created_at=moment)
    audit.record(
        organization=organization,
        actor=Actor(admin, token_id="pat_token0001"),
        action="organization.rename",
        target="c4",
        details={"from": "Acme", "to": "Acme AI"},
    )
    return day


def targets(html: str) -> list[str]:
    return re.findall(r">(c\d)</td>", html)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["c4", "c3", "c2", "c1", "c0"]),
        ({"actor": "ADMIN@example.test"}, ["c4", "c2", "c1"]),
        ({"actor": "key_robot0001"}, ["c1"]),
        ({"actor": "pat_token0001"}, ["c4"]),
        ({"action": "member.remove"}, ["c2", "c0"]),
        ({"from": "DAY-1", "to": "DAY-1"}, ["c2", "c1"]),
        ({"from": "DAY-1"}, ["c4", "c3", "c2", "c1"]),
        ({"to": "DAY-2"}, ["c0"]),
        ({"actor": "admin@example.test", "action": "member.remove", "from": "DAY-1"}, ["c2"]),
    ],
)
def test_filters_each_and_combined(client, organization, owner, crowd, query, expected):
    days = {f"DAY-{back}": (crowd - timedelta(days=back)).date().isoformat() for back in (1, 2)}
    query = {name: days.get(value, value) for name, value in query.items()}
    client.force_login(owner)
    html = client.get(audit_url(organization), query).content.decode()
    assert targets(html) == expected
    export = re.search(r'id="audit-export" href="([^"]+)"', html)[1].replace("&amp;", "&")
    for name, value in query.items():
        assert f"{name}={value}".replace("@", "%40") in export


def test_days_are_the_viewers_days(client, organization, owner):
    """00:30 in Paris is the day before in UTC: "from" that Paris day includes it."""
    entry = audit.record(
        organization=organization, actor=Actor(owner), action="key.revoke", target="c9"
    )
    AuditEvent.objects.filter(pk=entry.pk).update(
        created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    )
    client.force_login(owner)
    client.cookies["tz"] = "Europe/Paris"
    html = client.get(audit_url(organization), {"from": "2026-03-02", "to": "2026-03-02"})
    assert targets(html.content.decode()) == ["c9"]
    assert "First day, in Europe/Paris." in html.content.decode()
    client.cookies["tz"] = "UTC"
    html = client.get(audit_url(organization), {"from": "2026-03-02", "to": "2026-03-02"})
    assert targets(html.content.decode()) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"actor": "somebody"}, "actor: enter a member's email, an API key id (key_…)"),
        ({"action": "bogus.action"}, "action: pick one of the listed actions."),
        ({"from": "2026-13-45"}, "from: enter a date as YYYY-MM-DD, e.g. 2026-03-01."),
        ({"from": "1066-10-14"}, "from: pick a day between the years 2000 and 9000."),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to: must be on or after from"),
    ],
)
def test_bad_filters_name_the_field_and_the_fix(client, organization, owner, query, message):
    client.force_login(owner)
    page = client.get(audit_url(organization), query)
    assert page.status_code == 200 and message in page_text(page.content.decode())
    swapped = client.get(audit_url(organization), query, headers={"HX-Request": "true"})
    html = swapped.content.decode()
    assert html.lstrip().startswith('<div id="audit-table">') and "<form" not in html
    assert message in page_text(html)
    export = client.get(audit_url(organization, "orgs:audit_export"), query)
    assert export.status_code == 400 and message in page_text(export.content.decode())


def test_htmx_filtering_swaps_the_table_and_the_export_link(client, organization, owner, crowd):
    client.force_login(owner)
    response = client.get(
        audit_url(organization), {"action": "key.revoke"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert targets(html) == ["c3", "c1"]
    assert 'hx-swap-oob="true"' in html and "action=key.revoke" in html
    full = client.get(audit_url(organization)).content.decode()
    assert 'hx-push-url="true"' in full and 'hx-target="#audit-table"' in full


def test_pages_hold_still_while_events_are_written(client, organization, owner):
    for number in range(AUDIT_PAGE_SIZE + 10):
        audit.record(
            organization=organization,
            actor=Actor(owner),
            action="key.revoke",
            target=f"p{number:03}",
        )
    client.force_login(owner)
    url = audit_url(organization)
    first = client.get(url, {"action": "key.revoke"}).content.decode()
    older = re.search(r'href="(\?[^"]+)"[^>]*>Older', first)[1].replace("&amp;", "&")
    assert "action=key.revoke" in older
    for number in range(5):
        audit.record(
            organization=organization, actor=Actor(owner), action="key.revoke", target=f"n{number}"
        )
    second = client.get(url + older).content.decode()
    seen = re.findall(r">(p\d{3})</td>", first) + re.findall(r">(p\d{3})</td>", second)
    assert seen == [f"p{number:03}" for number in reversed(range(AUDIT_PAGE_SIZE + 10))]
    assert ">n0</td>" not in second


def _query_count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_count_is_flat_as_the_log_grows(client, organization, owner):
    def add(count):
        """A tenth config changes (each with its versions), the rest older key changes: the
        first page holds both kinds."""
        older = timezone.now() - timedelta(days=1)
        for _ in range(count // 10):
            services.config_section_update(
                organization=organization,
                actor=Actor(owner),
                base_version=None,
                section="caching",
                values={"ttl_seconds": 60 + AuditEvent.objects.count()},
            )
        AuditEvent.objects.bulk_create(
            AuditEvent(
                organization=organization,
                actor_email=owner.email,
                action="key.update",
                target=f"q{number}",
                details={"key_id": "key_q", "rate_limit_rpm": {"from": number, "to": 1}},
                created_at=older - timedelta(seconds=number),
            )
            for number in range(count - count // 10)
        )

    client.force_login(owner)
    url = audit_url(organization)
    add(10)
    client.get(url)  # the session's first-visit writes
    few = _query_count(client, url)
    add(190)
    many = _query_count(client, url)
    assert many == few, "a page of the audit log must not cost a query per row"
    assert few <= 12
    history = reverse("orgs:config_history", args=[organization.slug])
    assert _query_count(client, history) <= 12


# -- CSV export ----------------------------------------------------------------------------------


def export_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_export_has_the_filtered_rows_typed_as_on_the_page(client, organization, owner, crowd):
    services.config_section_update(
        organization=organization,
        actor=Actor(owner),
        base_version=1,
        section="budgets",
        values={"enabled": True, "limit": "500"},
    )
    client.force_login(owner)
    response = client.get(audit_url(organization, "orgs:audit_export"))
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"prism-audit-{organization.slug}.csv" in response["Content-Disposition"]
    header, *rows = export_rows(response)
    assert header == [
        "time_utc",
        "time_local",
        "actor",
        "via",
        "action",
        "action_label",
        "target",
        "ip_address",
        "changes",
    ]
    config = rows[0]
    assert (config[2], config[4], config[5]) == (
        "owner@example.test",
        "config.update",
        "Changed the config",
    )
    assert config[8] == "budgets.enabled: off → on; budgets.limit: none → $500.00 USD"
    assert rows[1][3] == "token pat_token0001" and rows[1][8] == "Name: Acme → Acme AI"
    assert [row[6] for row in rows if row[6].startswith("c")] == ["c4", "c3", "c2", "c1", "c0"]
    assert "Created the organization" in [row[5] for row in rows]
    filtered = client.get(audit_url(organization, "orgs:audit_export"), {"actor": "key_robot0001"})
    assert [row[6] for row in export_rows(filtered)[1:]] == ["c1"]


def test_the_export_defuses_spreadsheet_formulas(client, organization, owner):
    for target in ('=HYPERLINK("http://evil.test")', "+1", "-2", "@SUM(A1)", "\tx", "plain"):
        audit.record(
            organization=organization,
            actor=Actor(owner),
            action="member.remove",
            target=target,
            details={"role": "member"},
        )
    client.force_login(owner)
    rows = export_rows(client.get(audit_url(organization, "orgs:audit_export")))
    cells = [row[6] for row in rows[1:7]]
    assert cells == ["plain", "'\tx", "'@SUM(A1)", "'-2", "'+1", '\'=HYPERLINK("http://evil.test")']
    assert all(not cell.startswith(("=", "+", "-", "@", "\t")) for row in rows for cell in row)


def test_the_export_follows_the_pages_role_rule(client, organization, member, admin):
    url = audit_url(organization, "orgs:audit_export")
    client.force_login(member)
    assert client.get(url).status_code == 403
    client.force_login(admin)
    assert client.get(url).status_code == 200
