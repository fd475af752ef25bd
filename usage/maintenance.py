"""Upkeep of the usage tables: rebuilding rollups from the raw logs, and retention."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from usage import partitions
from usage.models import (
    COUNTER_FIELDS,
    LATENCY_BUCKET_BOUNDS_MS,
    LATENCY_BUCKET_FIELDS,
    HourlyRollup,
    KeyDayRollup,
    RequestLog,
    UserDayRollup,
)

# SQL here is built from table and column names of our own (never from input); every value
# travels as a parameter.
# ruff: noqa: S608

ERROR = Q(status_code__gte=400) | Q(status_code__lt=100)
# Rows per DELETE when SQLite drops old logs: short transactions, the dashboard keeps working.
DELETE_BATCH = 10_000


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _counters() -> dict:
    return {
        "requests": Count("id"),
        "errors": Count("id", filter=ERROR),
        "input_tokens": Sum("input_tokens"),
        "output_tokens": Sum("output_tokens"),
        "cached_tokens": Sum("cached_tokens"),
        "cost": Sum("cost"),
        "latency_sum_ms": Sum("latency_ms"),
        "cache_hits": Count("id", filter=Q(cache_hit=True)),
        "fallbacks": Count("id", filter=Q(fallback_used=True)),
    }


def _histogram() -> dict:
    buckets = {}
    lower = None
    for name, upper in zip(LATENCY_BUCKET_FIELDS, [*LATENCY_BUCKET_BOUNDS_MS, None], strict=True):
        condition = Q()
        if lower is not None:
            condition &= Q(latency_ms__gt=lower)
        if upper is not None:
            condition &= Q(latency_ms__lte=upper)
        buckets[name] = Count("id", filter=condition)
        lower = upper
    return buckets


def _insert_from(model, queryset, columns: list[str]) -> int:
    """INSERT INTO the rollup SELECT the grouped query's columns (by name, so the order Django
    gives its SELECT does not matter). All in the database: no row comes to Python."""
    quote = connection.ops.quote_name
    inner, params = queryset.query.sql_with_params()
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({names}) "
            f"SELECT {names} FROM ({inner}) AS grouped",
            params,
        )
        return cursor.rowcount


@dataclass(frozen=True)
class RebuildResult:
    since: datetime
    until: datetime
    hourly: int
    key_day: int
    user_day: int


@transaction.atomic
def rollups_rebuild(*, since: datetime, until: datetime) -> RebuildResult:
    """Recompute the rollups of whole UTC days [since, until) from the raw logs: the range's rows
    are deleted and summed again in SQL. Ingestion keeps them current; this repairs them (after a
    change of the histogram, a restore) or builds them for bulk-loaded logs."""
    since = _day_start(since)
    until = _day_start(until) + (timedelta(days=1) if until != _day_start(until) else timedelta())
    counters = [*COUNTER_FIELDS]
    logs = RequestLog.objects.filter(started_at__gte=since, started_at__lt=until).order_by()

    HourlyRollup.objects.filter(hour__gte=since, hour__lt=until).delete()
    KeyDayRollup.objects.filter(day__gte=since.date(), day__lt=until.date()).delete()
    UserDayRollup.objects.filter(day__gte=since.date(), day__lt=until.date()).delete()

    hourly = _insert_from(
        HourlyRollup,
        logs.annotate(hour=TruncHour("started_at", tzinfo=UTC))
        .values("organization_id", "hour", "model", "provider")
        .annotate(**_counters(), **_histogram()),
        ["organization_id", "hour", "model", "provider", *counters, *LATENCY_BUCKET_FIELDS],
    )
    key_day = _insert_from(
        KeyDayRollup,
        logs.annotate(day=TruncDate("started_at", tzinfo=UTC))
        .values("organization_id", "key_id", "day")
        .annotate(**_counters()),
        ["organization_id", "key_id", "day", *counters],
    )
    user_day = _insert_from(
        UserDayRollup,
        logs.annotate(day=TruncDate("started_at", tzinfo=UTC))
        .values("organization_id", "end_user", "day")
        .annotate(**_counters()),
        ["organization_id", "end_user", "day", *counters],
    )
    return RebuildResult(since, until, hourly, key_day, user_day)


@dataclass(frozen=True)
class RetentionResult:
    log_cutoff: datetime
    rollup_cutoff: datetime
    partitions_dropped: list[str]
    logs_deleted: int
    rollups_deleted: int


def retention_apply(*, now: datetime | None = None) -> RetentionResult:
    """Drop logs older than REQUEST_LOG_RETENTION_DAYS and rollups older than
    USAGE_ROLLUP_RETENTION_DAYS. On PostgreSQL whole monthly partitions go (a partition goes once
    its whole month is past the cutoff, so logs live up to a month longer than the setting); on
    SQLite rows are deleted in batches of DELETE_BATCH."""
    now = now or timezone.now()
    log_cutoff = now - timedelta(days=settings.REQUEST_LOG_RETENTION_DAYS)
    rollup_cutoff = _day_start(now - timedelta(days=settings.USAGE_ROLLUP_RETENTION_DAYS))
    dropped: list[str] = []
    deleted = 0
    if partitions.partitioned():
        dropped = partitions.partitions_drop_before(log_cutoff)
    else:
        table = connection.ops.quote_name(RequestLog._meta.db_table)
        cutoff = connection.ops.adapt_datetimefield_value(log_cutoff)
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {table} WHERE id IN "
                    f"(SELECT id FROM {table} WHERE started_at < %s LIMIT {DELETE_BATCH})",
                    [cutoff],
                )
                deleted += cursor.rowcount
                if cursor.rowcount < DELETE_BATCH:
                    break
    with transaction.atomic():
        rollups = HourlyRollup.objects.filter(hour__lt=rollup_cutoff).delete()[0]
        rollups += KeyDayRollup.objects.filter(day__lt=rollup_cutoff.date()).delete()[0]
        rollups += UserDayRollup.objects.filter(day__lt=rollup_cutoff.date()).delete()[0]
    return RetentionResult(log_cutoff, rollup_cutoff, dropped, deleted, rollups)
