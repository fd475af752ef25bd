"""Partitions made ahead (PostgreSQL), and retention: old partitions dropped whole on PostgreSQL,
old rows deleted in batches on SQLite; rollups kept longer."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from tests.usage.conftest import log_row
from usage import maintenance, partitions
from usage.models import HourlyRollup, KeyDayRollup, RequestLog
from usage.services import logs_ingest

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions exist on PostgreSQL only"
)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def months() -> list[date | None]:
    return [partition.month for partition in partitions.partitions()]


def rows_in(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
        return cursor.fetchone()[0]


@postgresql_only
def test_migrate_made_this_month_and_three_ahead_and_a_default():
    this_month = partitions.month_start(datetime.now(UTC))
    expected = [partitions.add_months(this_month, n) for n in range(4)]
    assert months()[-5:] == [*expected, None]


@postgresql_only
def test_partitions_are_made_ahead_and_rows_in_the_default_get_their_month(world):
    # A request from a month with no partition yet waits in the default one.
    june = utc(2027, 6, 15, 12)
    logs_ingest(rows=[log_row(world.acme_main, june)], now=june)
    assert rows_in(partitions.DEFAULT_PARTITION) == 1

    made = partitions.partitions_ensure(now=utc(2027, 8, 3), months_ahead=2)

    # June for its stray row; August (this month) and the two after it. July has no rows: none.
    assert made == [partitions.partition_name(date(2027, month, 1)) for month in (6, 8, 9, 10)]
    assert rows_in(partitions.DEFAULT_PARTITION) == 0
    assert rows_in("usage_requestlog_p202706") == 1
    assert RequestLog.objects.get().started_at == june
    # Made again: nothing to do.
    assert partitions.partitions_ensure(now=utc(2027, 8, 3), months_ahead=2) == []


@postgresql_only
def test_retention_drops_whole_old_partitions_and_keeps_rollups(world, settings):
    settings.REQUEST_LOG_RETENTION_DAYS = 90
    settings.USAGE_ROLLUP_RETENTION_DAYS = 800
    partitions.partitions_ensure_between(first=utc(2027, 1, 1), last=utc(2027, 6, 1))
    for moment in (utc(2027, 1, 20), utc(2027, 2, 20), utc(2027, 3, 20), utc(2027, 6, 1)):
        logs_ingest(rows=[log_row(world.acme_main, moment)], now=moment)

    # 90 days before 1 June 2027 is 3 March: January and February have ended by then.
    result = maintenance.retention_apply(now=utc(2027, 6, 1, 12))

    # (and the months migrate made before them, December 2026 on)
    assert result.partitions_dropped[-2:] == [
        "usage_requestlog_p202701",
        "usage_requestlog_p202702",
    ]
    assert all(name < "usage_requestlog_p202703" for name in result.partitions_dropped)
    assert partitions.partition_name(date(2027, 1, 1)) not in {
        p.name for p in partitions.partitions()
    }
    # March is kept whole (its month has not ended before the cutoff): a log may outlive the
    # setting by up to a month, never the other way.
    assert sorted(RequestLog.objects.values_list("started_at", flat=True)) == [
        utc(2027, 3, 20),
        utc(2027, 6, 1),
    ]
    assert KeyDayRollup.objects.count() == 4
    assert HourlyRollup.objects.count() == 4


def test_retention_deletes_old_logs_and_older_rollups(world, settings, monkeypatch):
    settings.REQUEST_LOG_RETENTION_DAYS = 30
    settings.USAGE_ROLLUP_RETENTION_DAYS = 60
    monkeypatch.setattr(maintenance, "DELETE_BATCH", 2)  # several batches on SQLite
    now = utc(2026, 12, 2, 12)
    partitions.partitions_ensure_between(first=now - timedelta(days=100), last=now)
    for days in (0, 10, 40, 45, 50, 70, 90):
        moment = now - timedelta(days=days)
        logs_ingest(rows=[log_row(world.acme_main, moment)], now=moment)

    maintenance.retention_apply(now=now)

    kept = {
        (now - started).days for started in RequestLog.objects.values_list("started_at", flat=True)
    }
    # The cutoff is 2 November: on PostgreSQL October's partition has ended before it.
    assert kept == {0, 10}
    assert {
        (now.date() - day).days for day in KeyDayRollup.objects.values_list("day", flat=True)
    } == {
        0,
        10,
        40,
        45,
        50,
    }


def test_the_commands_run(world, capsys):
    call_command("usage_partitions")
    call_command("usage_retention")
    call_command("usage_rollups_rebuild", since="2026-11-01", until="2026-12-01")
    out = capsys.readouterr().out
    assert "Rebuilt 2026-11-01 to 2026-12-01" in out
    assert "Logs kept 90 days" in out
