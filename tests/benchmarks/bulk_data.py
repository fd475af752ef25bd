"""Benchmark data built inside the database: `INSERT … SELECT` over a number series, so a million
rows take seconds, not the minutes of building (and hashing) each row in Python. Rows are
well-formed enough for every page to render; no secret behind a key's hash exists.

Every column not named is filled with its field's default, so a column added later (with a
default) needs no change here. Callers build inside the test's transaction: it is rolled back,
so the data is dropped when the benchmark ends.
"""

import math
import re
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape

from django.db import connection
from django.test.utils import CaptureQueriesContext

from keys.models import VirtualKey
from members.models import User
from orgs import models as org_models
from orgs.models import Membership, Organization, RoleGroup
from orgs.roles import Role

POSTGRES = connection.vendor == "postgresql"


# -- SQL fragments that differ between PostgreSQL and SQLite -----------------------------------


def series(count: int) -> tuple[str, str]:
    """(prefix, FROM source) for the rows n = 1 … count."""
    if POSTGRES:
        return "", f"generate_series(1, {int(count)}) AS s(n)"
    count = int(count)
    recursive = f"SELECT 1 WHERE {count} >= 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}"  # noqa: S608
    return f"WITH RECURSIVE s(n) AS ({recursive})", "s"


def padded(tag: str, number: str, width: int) -> str:
    """`tag` then `number` zero-padded to `width` digits, as SQL."""
    assert re.fullmatch(r"[A-Za-z0-9_@. -]*", tag)
    if POSTGRES:
        return f"'{tag}' || lpad(({number})::text, {width}, '0')"
    return f"printf('{tag}%0{width}d', {number})"


def moment(base: datetime, seconds: str) -> str:
    """`base` plus `seconds` (an SQL expression), as SQL."""
    if POSTGRES:
        return f"TIMESTAMPTZ '{base.isoformat()}' + ({seconds}) * INTERVAL '1 second'"
    return f"datetime('{base:%Y-%m-%d %H:%M:%S}', '+' || ({seconds}) || ' seconds')"


def json_value(text: str) -> str:
    assert "'" not in text
    return f"'{text}'::jsonb" if POSTGRES else f"'{text}'"


def insert_select(model, values: dict[str, str], source: str, prefix: str = "") -> int:
    """INSERT INTO model's table SELECT `values` (field name → SQL) FROM `source`; fields not
    named get their default. The SQL given holds no placeholders (its `%` are operators).
    Returns the number of rows written."""
    quote = connection.ops.quote_name
    columns, expressions, params = [], [], []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        columns.append(quote(model_field.column))
        if model_field.name in values or model_field.attname in values:
            expression = values.get(model_field.name) or values[model_field.attname]
            expressions.append(expression.replace("%", "%%"))  # SQL, not placeholders
        else:
            expressions.append("%s")
            params.append(model_field.get_db_prep_save(model_field.get_default(), connection))
    table = quote(model._meta.db_table)
    # Built from this module's constants and numbers only, never from a request.
    sql = (
        f"{prefix.replace('%', '%%')} INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(expressions)} FROM {source.replace('%', '%%')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def analyze() -> None:
    """Fresh planner statistics: bulk rows the planner has not counted get plans for an empty
    table (PostgreSQL's ANALYZE counts the rows of the open transaction too)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# -- Rows --------------------------------------------------------------------------------------

ROLES = (Role.ADMIN, Role.MEMBER, Role.VIEWER)


def _cycled(expression: str, values) -> str:
    """The value at `expression` modulo len(values), as SQL."""
    whens = " ".join(
        f"WHEN {i} THEN " + (f"'{value}'" if isinstance(value, str) else str(int(value)))
        for i, value in enumerate(values)
    )
    return f"CASE ({expression}) % {len(values)} {whens} END"


def _sort_key(role_sql: str, email_sql: str) -> dict[str, str]:
    """Membership's stored list order, when the model keeps one (`membership_sort_key`)."""
    sort_key = getattr(org_models, "membership_sort_key", None)
    if sort_key is None or not any(f.name == "sort_key" for f in Membership._meta.fields):
        return {}
    whens = " ".join(f"WHEN '{role.value}' THEN '{sort_key(role, '')}'" for role in Role)
    return {"sort_key": f"(CASE {role_sql} {whens} END) || {email_sql}"}


def add_members(organization: Organization, start: int, stop: int, tag: str = "mb") -> None:
    """Members number start … stop-1 (Admins, Members and Viewers in turn), with their accounts
    and role groups, as `membership_add` writes them. Emails are `{tag}000042@bench.test`."""
    count = stop - start
    prefix, source = series(count)
    number = f"(n + {start - 1})"
    insert_select(
        User,
        {
            "email": padded(tag, number, 6) + " || '@bench.test'",
            "display_name": padded("Bench member ", number, 6),
            "password": "'!'",
        },
        source,
        prefix,
    )
    users = (
        f"{connection.ops.quote_name(User._meta.db_table)} u WHERE u.email >= "
        f"'{tag}{start:06}@' AND u.email < '{tag}{stop:06}@'"
    )
    role = _cycled("u.id", [role.value for role in ROLES])
    insert_select(
        Membership,
        {
            "user": "u.id",
            "organization": str(organization.pk),
            "role": role,
            **_sort_key(role, "u.email"),
        },
        users,
    )
    groups = dict(
        RoleGroup.objects.filter(organization=organization).values_list("role", "group_id")
    )
    through = User.groups.through
    insert_select(
        through,
        {"user": "u.id", "group": _cycled("u.id", [groups[role] for role in ROLES])},
        users,
    )


def add_organizations(user: User, count: int, base: datetime, tag: str = "bench-org") -> None:
    """`count` orgs named `Bench org 0001`… (slugs `{tag}-0001`…) that `user` is a Member of,
    last seen a second apart after `base`.
    Role groups and config are left out: no page of theirs is read, only the user's list."""
    prefix, source = series(count)
    insert_select(
        Organization,
        {
            "name": padded("Bench org ", "n", 4),
            "slug": padded(f"{tag}-", "n", 4),
            "created_at": moment(base, "n"),
        },
        source,
        prefix,
    )
    organizations = (
        f"{connection.ops.quote_name(Organization._meta.db_table)} o WHERE o.slug LIKE '{tag}-%'"
    )
    insert_select(
        Membership,
        {
            "user": str(user.pk),
            "organization": "o.id",
            "role": f"'{Role.MEMBER.value}'",
            "last_seen_at": moment(base, "o.id % 1000"),
            **_sort_key(f"'{Role.MEMBER.value}'", f"'{user.email}'"),
        },
        organizations,
    )


def add_keys(
    organizations: list[Organization], creator: User, count: int, base: datetime, tag: str
) -> None:
    """`count` keys spread over `organizations` in turn, created a second apart from `base`,
    every seventh revoked. Their secret hashes are unique but belong to no secret."""
    prefix, source = series(count)
    organization = (
        f"CASE n % {len(organizations)} "
        + " ".join(f"WHEN {i} THEN {o.pk}" for i, o in enumerate(organizations))
        + " END"
    )
    created = moment(base, "n")
    insert_select(
        VirtualKey,
        {
            "organization": organization,
            "public_id": padded(f"key_{tag}", "n", 20 - len(tag)),
            "name": padded("service-", "n", 7),
            "scopes": json_value('["gateway"]'),
            "secret_hash": padded(tag, "n", 64 - len(tag)),
            "secret_prefix": "'sk-prism-AbCd'",
            "secret_last4": padded("", "n % 10000", 4),
            "created_by": str(creator.pk),
            "created_at": created,
            "updated_at": created,
            "revoked_at": f"CASE WHEN n % 7 = 0 THEN {created} END",
            "allowed_models": json_value('["gpt-4o-mini"]'),
        },
        source,
        prefix,
    )


# -- Measuring ---------------------------------------------------------------------------------

RUNS = 15
_ANCHOR = re.compile(r"<a\s([^>]*)>(.*?)</a>", re.S)


def next_link(html: str) -> str | None:
    """The href of the page's own "next page" link (rel="next", or a link reading Next/Older)."""
    for attributes, text in _ANCHOR.findall(html):
        label = re.sub(r"<[^>]+>", "", text).strip()
        if 'rel="next"' in attributes or label.startswith(("Next", "Older")):
            href = re.search(r'href="([^"]*)"', attributes)
            if href:
                return unescape(href.group(1))
    return None


@dataclass(frozen=True)
class Measurement:
    case: str
    size: int
    median_ms: float
    queries: int
    kib: float


def measure(client, case: str, size: int, url: str, headers=None) -> Measurement:
    client.get(url, headers=headers)  # warm the template cache, session and last-seen write
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    # Read now: every request start clears the connection's query log.
    count = len(queries.captured_queries)
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(url, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
    return Measurement(case, size, statistics.median(timings), count, len(response.content) / 1024)


@dataclass
class Table:
    title: str
    rows: list[Measurement] = field(default_factory=list)

    def add(self, measurement: Measurement) -> None:
        self.rows.append(measurement)
        row = measurement
        print(f"    measured {row.case} @ {row.size:,}: {row.median_ms:.1f} ms", flush=True)

    def print(self) -> None:
        print(f"\n{self.title} ({connection.vendor}; median of {RUNS} requests)")
        print(f"  {'case':<22}{'size':>11}{'median ms':>11}{'queries':>9}{'KiB':>8}")
        for row in self.rows:
            print(
                f"  {row.case:<22}{row.size:>11,}{row.median_ms:>11.1f}{row.queries:>9}"
                f"{row.kib:>8.1f}"
            )
        print(f"  {'case':<22}{'largest/smallest':>18}   (goal: at most 1.5x)")
        for case in dict.fromkeys(row.case for row in self.rows):
            rows = sorted((r for r in self.rows if r.case == case), key=lambda r: r.size)
            ratio = rows[-1].median_ms / rows[0].median_ms
            sizes = f"{rows[-1].size:,} vs {rows[0].size:,}"
            print(f"  {case:<22}{ratio:>17.2f}x   ({sizes})")


def last_position(fetch, page_size: int, total: int):
    """Where the list's last page starts, as the page's own next links would lead there.

    `fetch(position, size)` reads `size` rows from `position` (None: the start) and returns the
    next position, or None at the end. The walk takes steps of whole pages, about a twentieth of
    the list each, then single pages: a keyset position does not depend on the page size, so
    the last step lands on the position the page-by-page walk reaches."""
    step = max(page_size, math.ceil(total / 20 / page_size) * page_size)
    position = None
    while (after := fetch(position, step)) is not None:
        position = after
    while (after := fetch(position, page_size)) is not None:
        position = after
    return position
