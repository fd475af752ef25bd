"""Reads of the usage app: spend in the current budget periods (from the rollups only) and the
request logs of one org, a time range at a time (the Logs page and its export)."""

import json
import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core import signing
from django.db import OperationalError, connection, transaction
from django.db.models import Q, QuerySet, Sum
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from keys.models import VirtualKey
from orgs.models import Organization
from orgs.selectors import parse_stored
from prism_site.errors import Invalid, NotFound
from prism_site.paging import Keyset, Page
from usage.models import HourlyRollup, KeyDayRollup, RequestLog, UserDayRollup

PERIODS = ("daily", "weekly", "monthly", "total")


@dataclass(frozen=True)
class PeriodWindow:
    """A calendar budget period in UTC: [start, end). "total" has neither (all time)."""

    period: str
    start: datetime | None
    end: datetime | None


def period_window(period: str, now: datetime) -> PeriodWindow:
    """The period holding `now`: today, this week (from Monday), this month, or all time."""
    now = now.astimezone(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return PeriodWindow(period, day, day + timedelta(days=1))
    if period == "weekly":
        monday = day - timedelta(days=day.weekday())
        return PeriodWindow(period, monday, monday + timedelta(days=7))
    if period == "monthly":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return PeriodWindow(period, first, following)
    if period == "total":
        return PeriodWindow(period, None, None)
    raise ValueError(f"period: must be one of {', '.join(PERIODS)}, not {period!r}")


@dataclass(frozen=True)
class KeySpend:
    """One key's spend in its own budget period (the org's period when it has no budget)."""

    public_id: str
    window: PeriodWindow
    spend: Decimal
    # None: the key has no budget of its own.
    limit: Decimal | None


@dataclass(frozen=True)
class OrgSpend:
    """One org's spend in the period of its config's `budgets` (monthly unless set)."""

    organization_id: int
    slug: str
    window: PeriodWindow
    spend: Decimal
    # None: unlimited. `budget_enabled` and `action` are the config's `budgets` fields.
    limit: Decimal | None
    budget_enabled: bool
    action: str
    # Every key that spent in its period or has a budget, by public id.
    keys: dict[str, KeySpend] = field(default_factory=dict)
    # Spend in the org's window by model and by end user ("" = requests naming no user).
    by_model: dict[str, Decimal] = field(default_factory=dict)
    by_user: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class SpendSummary:
    """Spend so far of every org (and its keys) in their current budget periods, as of `now`."""

    now: datetime
    organizations: list[OrgSpend]

    def organization(self, slug: str) -> OrgSpend | None:
        return next((org for org in self.organizations if org.slug == slug), None)


def _since(queryset, window: PeriodWindow, field_name: str):
    if window.start is None:
        return queryset
    lookup = window.start.date() if field_name == "day" else window.start
    return queryset.filter(**{f"{field_name}__gte": lookup})


def spend_summary(*, now: datetime | None = None, period: str | None = None) -> SpendSummary:
    """Spend so far per org and per key in their current budget periods (calendar periods in
    UTC: daily, weekly from Monday, monthly; "total" is all time), read from the rollups.

    `period` (one of PERIODS) puts every org and key in that one period instead of their own;
    another value raises `Invalid` naming `period`.
    A few queries whatever the number of orgs and keys: two, one per distinct period in use
    (at most 4), and two per distinct period of the orgs: 14 at most.
    """
    now = now or timezone.now()
    if period is not None and period not in PERIODS:
        raise Invalid(errors={"period": [f"must be one of {', '.join(PERIODS)}, not {period!r}"]})

    organizations = list(
        Organization.objects.select_related("config_version")
        .only("pk", "slug", "config_version__document")
        .order_by("pk")
    )
    org_windows: dict[int, PeriodWindow] = {}
    org_budgets = {}
    for organization in organizations:
        version = organization.config_version
        budgets = parse_stored(version.document if version else {}).budgets
        org_budgets[organization.pk] = budgets
        org_windows[organization.pk] = period_window(period or budgets.period.value, now)

    keys = list(
        VirtualKey.objects.filter(organization__in=[org.pk for org in organizations]).values_list(
            "pk", "public_id", "organization_id", "budget_limit", "budget_period"
        )
    )
    key_windows = {}
    for pk, _, organization_id, _, budget_period in keys:
        own = period or budget_period
        key_windows[pk] = period_window(own, now) if own else org_windows[organization_id]

    # Per window, every rollup row since its start, kept for the orgs (keys) in that window: no
    # list of ids in the query, however many orgs and keys there are.
    org_spend: dict[int, Decimal] = defaultdict(Decimal)
    key_spend: dict[int, Decimal] = defaultdict(Decimal)
    by_model: dict[int, dict[str, Decimal]] = defaultdict(dict)
    by_user: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for window in set(org_windows.values()) | set(key_windows.values()):
        # Per key, so one query serves the orgs and the keys counting from this window's start.
        rows = _since(KeyDayRollup.objects.all(), window, "day")
        for organization_id, key_id, cost in rows.values_list("organization_id", "key_id").annotate(
            Sum("cost")
        ):
            if org_windows.get(organization_id) == window:
                org_spend[organization_id] += cost
            if key_windows.get(key_id) == window:
                key_spend[key_id] = cost
    for window, org_ids in _grouped(org_windows).items():
        rows = _since(HourlyRollup.objects.all(), window, "hour")
        for organization_id, model, cost in rows.values_list("organization_id", "model").annotate(
            Sum("cost")
        ):
            if organization_id in org_ids:
                by_model[organization_id][model] = cost
        rows = _since(UserDayRollup.objects.all(), window, "day")
        for organization_id, user, cost in rows.values_list("organization_id", "end_user").annotate(
            Sum("cost")
        ):
            if organization_id in org_ids:
                by_user[organization_id][user] = cost

    org_keys: dict[int, dict[str, KeySpend]] = defaultdict(dict)
    for pk, public_id, organization_id, budget_limit, _ in keys:
        if pk in key_spend or budget_limit is not None:
            org_keys[organization_id][public_id] = KeySpend(
                public_id=public_id,
                window=key_windows[pk],
                spend=money(key_spend.get(pk)),
                limit=budget_limit,
            )
    return SpendSummary(
        now=now,
        organizations=[
            OrgSpend(
                organization_id=organization.pk,
                slug=organization.slug,
                window=org_windows[organization.pk],
                spend=money(org_spend.get(organization.pk)),
                limit=org_budgets[organization.pk].limit,
                budget_enabled=org_budgets[organization.pk].enabled,
                action=org_budgets[organization.pk].action.value,
                keys=org_keys[organization.pk],
                by_model={m: money(c) for m, c in by_model[organization.pk].items()},
                by_user={u: money(c) for u, c in by_user[organization.pk].items()},
            )
            for organization in organizations
        ],
    )


def _grouped(windows: dict[int, PeriodWindow]) -> dict[PeriodWindow, set[int]]:
    groups: dict[PeriodWindow, set[int]] = defaultdict(set)
    for pk, window in windows.items():
        groups[window].add(pk)
    return groups


def org_period_spend(organization: Organization, window: PeriodWindow) -> Decimal:
    """The org's spend since its budget window started (all time for "total"), from the key-day
    rollups: one query."""
    rows = _since(KeyDayRollup.objects.filter(organization=organization), window, "day")
    return money(rows.aggregate(spend=Sum("cost"))["spend"])


def money(value) -> Decimal:
    """A summed cost as the tables keep it: SQLite sums decimals as floats, so back to 10 places
    (and no rows at all is 0)."""
    return Decimal(str(value or 0)).quantize(Decimal("1e-10"))


# The Logs page's order: newest first, the id breaking ties; served by `reqlog_org_newest` and,
# under a filter, by the org × filter × time indexes.
REQUEST_LOG_KEYSET = Keyset("logs", ("-started_at", "-id"))
STATUS_CLASSES = ("2xx", "4xx", "5xx")
_BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True)
class LogFilter:
    """What the Logs page shows: the org's requests from `since` to `until` (None: up to now and
    on), narrowed by the others (None or "" leaves a filter out). `since` is required: it bounds
    every scan of the table."""

    since: datetime
    until: datetime | None = None
    key_id: int | None = None
    model: str = ""
    provider: str = ""
    status_class: str = ""
    errors_only: bool = False
    min_latency_ms: int | None = None
    # USD, inclusive.
    min_cost: Decimal | None = None
    max_cost: Decimal | None = None
    request_id: str = ""
    end_user: str = ""
    session_id: str = ""
    # (name, value): the requests whose metadata holds that name with that value (see
    # `metadata_values` for how a value written as text meets numbers, true/false and null).
    metadata: tuple[str, str] | None = None


def metadata_values(text: str) -> list:
    """The metadata values `text` stands for: the string itself and, when the text is a JSON
    number, true, false or null, that value too. So `tier=2` finds "2" and 2 (and 2.0), `beta=true`
    finds "true" and true; `team=search` finds only the string."""
    values: list = [text]
    if text != text.strip():
        # " 2" is the text " 2", not the number JSON would read around the spaces.
        return values
    try:
        parsed = json.loads(text)
    except ValueError:
        return values
    if isinstance(parsed, float) and not math.isfinite(parsed):
        return values
    if parsed is None or isinstance(parsed, bool | int | float):
        values.append(parsed)
    return values


def _any(conditions) -> Q:
    combined = Q()
    for condition in conditions:
        combined |= condition
    return combined


def request_logs(organization: Organization, log_filter: LogFilter) -> QuerySet:
    """The org's request logs matching the filter, unordered; every query starts with the org
    and `started_at >= since`, so it reads one org's rows of the range (and its partitions)."""
    rows = RequestLog.objects.filter(organization=organization, started_at__gte=log_filter.since)
    if log_filter.until is not None:
        rows = rows.filter(started_at__lt=log_filter.until)
    if log_filter.key_id is not None:
        rows = rows.filter(key_id=log_filter.key_id)
    if log_filter.model:
        rows = rows.filter(model=log_filter.model)
    if log_filter.provider:
        rows = rows.filter(provider=log_filter.provider)
    if log_filter.status_class:
        if log_filter.status_class not in STATUS_CLASSES:
            raise Invalid(
                errors={"status": [f"must be one of {', '.join(STATUS_CLASSES)}"]},
            )
        low = int(log_filter.status_class[0]) * 100
        rows = rows.filter(status_code__gte=low, status_code__lt=low + 100)
    if log_filter.errors_only:
        # As `is_error_status`: 4xx, 5xx, and 0 (no provider answered).
        rows = rows.filter(Q(status_code__gte=400) | Q(status_code__lt=100))
    if log_filter.min_latency_ms:
        rows = rows.filter(latency_ms__gte=log_filter.min_latency_ms)
    if log_filter.min_cost is not None:
        rows = rows.filter(cost__gte=log_filter.min_cost)
    if log_filter.max_cost is not None:
        rows = rows.filter(cost__lte=log_filter.max_cost)
    if log_filter.request_id:
        rows = rows.filter(request_id=log_filter.request_id)
    if log_filter.end_user:
        rows = rows.filter(end_user=log_filter.end_user)
    if log_filter.session_id:
        rows = rows.filter(session_id=log_filter.session_id)
    if log_filter.metadata is not None:
        name, text = log_filter.metadata
        if connection.features.supports_json_field_contains:
            # PostgreSQL: jsonb containment, which a GIN index on `metadata` could serve.
            rows = rows.filter(
                _any(Q(metadata__contains={name: value}) for value in metadata_values(text))
            )
        else:
            # SQLite: the name's value compared as JSON, the same matches as containment of a
            # flat object. KeyTransform keeps a name holding "__" or "." one name, not a path.
            rows = rows.alias(metadata_value=KeyTransform(name, "metadata")).filter(
                _any(Q(metadata_value=value) for value in metadata_values(text))
            )
    return rows


# SQLSTATE of a statement cancelled by `statement_timeout` (psycopg's QueryCanceled).
_QUERY_CANCELED = "57014"


class LogQueryTimedOut(Exception):
    """The database stopped a log query that ran longer than LOGS_STATEMENT_TIMEOUT_MS."""


@contextmanager
def statement_timeout(milliseconds: int | None) -> Iterator[None]:
    """Inside, on PostgreSQL, a statement running longer than `milliseconds` is cancelled and
    raises LogQueryTimedOut; elsewhere, or with no limit, nothing changes.

    The limit is `SET LOCAL` in a transaction (a savepoint inside an outer one) that is rolled
    back at the end: only reads run inside, and the rollback is what ends the limit in both cases.
    """
    if not milliseconds or connection.vendor != "postgresql":
        yield
        return
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true)", [str(int(milliseconds))]
                )
            yield
            transaction.set_rollback(True)
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == _QUERY_CANCELED:
            raise LogQueryTimedOut(f"stopped after {milliseconds} ms") from error
        raise


def request_log_page(
    organization: Organization,
    log_filter: LogFilter,
    *,
    cursor: str | None,
    size: int = 50,
    timeout_ms: int | None = None,
) -> Page:
    """One page of the org's matching requests, newest first, with each row's key: one query,
    whatever the page and however many rows the org holds (keyset, no OFFSET, no count).

    With `timeout_ms`, PostgreSQL cancels the query past that time (LogQueryTimedOut)."""
    rows = request_logs(organization, log_filter).select_related("key")
    with statement_timeout(timeout_ms):
        return REQUEST_LOG_KEYSET.page(rows, cursor, size=size)


def request_log_page_plan(organization: Organization, log_filter: LogFilter, *, size=50) -> str:
    """How the database reads the first page (EXPLAIN ANALYZE with buffers on PostgreSQL): for
    benchmarks, and to see that a filter reads an index range rather than every row of the
    range."""
    rows = (
        request_logs(organization, log_filter)
        .select_related("key")
        .order_by(*REQUEST_LOG_KEYSET.ordering)[: size + 1]
    )
    if connection.vendor == "postgresql":
        return rows.explain(analyze=True, buffers=True)
    return rows.explain()


# "Follow new requests": the newest row shown, signed, so a poll reads only the rows above it.
_NEWEST_SIGNER = signing.Signer(salt="prism.logs.newest", sep="~")


def newest_marker(started_at: datetime, log_id: int) -> str:
    """A signed mark of a place in the Logs order (a row's time and id), for
    `request_logs_newer`; (range start, 0) marks an empty page, above which every row is new."""
    return _NEWEST_SIGNER.sign_object([started_at.isoformat(), log_id])


def read_newest_marker(marker: str) -> tuple[datetime, int] | None:
    """The (started_at, id) a marker holds, or None when it is not one `newest_marker` wrote."""
    if not marker or len(marker) > 200:
        return None
    try:
        started_at, log_id = _NEWEST_SIGNER.unsign_object(marker)
        started_at = datetime.fromisoformat(started_at)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        return None
    if started_at.tzinfo is None or not isinstance(log_id, int):
        return None
    return started_at, log_id


@dataclass(frozen=True)
class NewerRows:
    # Newest first, at most `size`.
    rows: list
    # More rows than `size` arrived: the oldest of them are not in `rows`.
    more: bool


def request_logs_newer(
    organization: Organization,
    log_filter: LogFilter,
    *,
    after: tuple[datetime, int],
    size: int = 50,
    timeout_ms: int | None = None,
) -> NewerRows:
    """The matching rows above `after` in the Logs order (newer, or as new with a larger id),
    newest first: one query, bounded by the org and the filter's time range, reading the top of
    the org's index down to the mark."""
    started_at, log_id = after
    rows = (
        request_logs(organization, log_filter)
        .filter(started_at__gte=started_at)
        .filter(Q(started_at__gt=started_at) | Q(id__gt=log_id))
        .select_related("key")
        .order_by(*REQUEST_LOG_KEYSET.ordering)
    )
    with statement_timeout(timeout_ms):
        found = list(rows[: size + 1])
    return NewerRows(rows=found[:size], more=len(found) > size)


def request_log_in_organization(organization: Organization, log_id: int) -> RequestLog:
    """One request of this org, with its key; another org's request is not found."""
    if not 0 < log_id <= _BIGINT_MAX:
        raise NotFound("No such request in this organization.")
    log = (
        RequestLog.objects.select_related("key")
        .filter(organization=organization, pk=log_id)
        .first()
    )
    if log is None:
        raise NotFound("No such request in this organization.")
    return log
