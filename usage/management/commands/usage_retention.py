"""Drops request logs and rollups older than their retention settings; run daily."""

from django.conf import settings
from django.core.management.base import BaseCommand

from usage import partitions
from usage.maintenance import retention_apply


class Command(BaseCommand):
    help = (
        "Drop request logs older than REQUEST_LOG_RETENTION_DAYS (whole monthly partitions on "
        "PostgreSQL, batched deletes on SQLite) and rollups older than "
        "USAGE_ROLLUP_RETENTION_DAYS. Run it daily."
    )

    def handle(self, *args, **options):
        result = retention_apply()
        done = (
            f"dropped partitions {', '.join(result.partitions_dropped) or '(none due)'}"
            if partitions.partitioned()
            else f"deleted {result.logs_deleted} rows"
        )
        self.stdout.write(
            f"Logs kept {settings.REQUEST_LOG_RETENTION_DAYS} days (cutoff "
            f"{result.log_cutoff:%Y-%m-%d %H:%M} UTC): {done}"
        )
        self.stdout.write(
            f"Rollups kept {settings.USAGE_ROLLUP_RETENTION_DAYS} days (cutoff "
            f"{result.rollup_cutoff:%Y-%m-%d}): deleted {result.rollups_deleted} rows"
        )
