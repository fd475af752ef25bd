"""Monthly partitions of the request log on PostgreSQL: made ahead, and dropped whole when old.

Each month is `usage_requestlog_pYYYYMM` holding [first day of the month, first day of the next)
in UTC; `usage_requestlog_default` takes any row no month holds yet, so no row is ever refused.
Rows found in the default partition get their month made (and moved into it) on the next run.
SQLite has one plain table: every function here does nothing there.
"""

# SQL here is built from table and column names of our own (never from input); every value
# travels as a parameter.
# ruff: noqa: S608

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection, transaction

PARENT = "usage_requestlog"
DEFAULT_PARTITION = f"{PARENT}_default"


def partitioned() -> bool:
    return connection.vendor == "postgresql"


def month_start(value: date | datetime) -> date:
    return date(value.year, value.month, 1)


def add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_p{month:%Y%m}"


def _bound(month: date) -> str:
    return f"{month:%Y-%m-%d} 00:00:00+00"


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None: the default partition


def partitions() -> list[Partition]:
    """The partitions that exist, months in order, then the default one."""
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname FROM pg_inherits
            JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
            JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            WHERE parent.relname = %s
            """,
            [PARENT],
        )
        names = [name for (name,) in cursor.fetchall()]
    months = [
        Partition(name, date(int(name[-6:-2]), int(name[-2:]), 1))
        for name in names
        if name != DEFAULT_PARTITION
    ]
    default = [Partition(DEFAULT_PARTITION, None)] if DEFAULT_PARTITION in names else []
    return [*sorted(months, key=lambda p: p.month), *default]


def partitions_ensure(*, now: datetime | None = None, months_ahead: int = 3) -> list[str]:
    """Make the default partition, this month's and the next `months_ahead` months', and the
    month of any row sitting in the default partition. Returns the names made."""
    if not partitioned():
        return []
    now = now or datetime.now(UTC)
    made = []
    with transaction.atomic(), connection.cursor() as cursor:
        # One maker at a time (the daily timer and a migrate may meet).
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [PARENT])
        existing = {partition.name for partition in partitions()}
        if DEFAULT_PARTITION not in existing:
            cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {PARENT} DEFAULT")
            made.append(DEFAULT_PARTITION)
        first = month_start(now)
        wanted = {add_months(first, offset) for offset in range(months_ahead + 1)}
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', started_at AT TIME ZONE 'UTC')::date "
            f"FROM {DEFAULT_PARTITION}"
        )
        stranded = {month for (month,) in cursor.fetchall()}
        for month in sorted(wanted | stranded):
            name = partition_name(month)
            if name in existing:
                continue
            _partition_create(cursor, month, move_from_default=month in stranded)
            made.append(name)
    return made


def partitions_ensure_between(*, first: datetime, last: datetime) -> list[str]:
    """Make the month partitions covering [first, last] (a backfill, the generator)."""
    if not partitioned():
        return []
    partitions_ensure(now=datetime.now(UTC))
    made = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [PARENT])
        existing = {partition.name for partition in partitions()}
        month = month_start(first)
        while month <= month_start(last):
            if partition_name(month) not in existing:
                _partition_create(cursor, month, move_from_default=True)
                made.append(partition_name(month))
            month = add_months(month, 1)
    return made


def _partition_create(cursor, month: date, *, move_from_default: bool) -> None:
    name, start, end = partition_name(month), _bound(month), _bound(add_months(month, 1))
    if not move_from_default:
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM (%s) TO (%s)",
            [start, end],
        )
        return
    # The default partition may hold this month's rows: a partition cannot be made over them,
    # so the month is built beside the table, the rows moved in, and then attached.
    cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "
        f"WHERE started_at >= %s AND started_at < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        [start, end],
    )
    cursor.execute(
        f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
        [start, end],
    )


def partitions_drop_before(cutoff: datetime) -> list[str]:
    """Drop every month partition that ends on or before `cutoff` (whole tables, no DELETE), and
    delete the default partition's rows older than it. Returns the names dropped."""
    if not partitioned():
        return []
    dropped = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [PARENT])
        # Foreign keys checked at commit block a DROP of rows written in this transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for partition in partitions():
            if partition.month is None:
                continue
            end = add_months(partition.month, 1)
            if datetime(end.year, end.month, end.day, tzinfo=UTC) <= cutoff:
                cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {partition.name}")
                cursor.execute(f"DROP TABLE {partition.name}")
                dropped.append(partition.name)
        if DEFAULT_PARTITION in {partition.name for partition in partitions()}:
            cursor.execute(f"DELETE FROM {DEFAULT_PARTITION} WHERE started_at < %s", [cutoff])
    return dropped
