"""Recomputes the usage rollups of a range of days from the raw request logs."""

from datetime import UTC, date, datetime, time

from django.core.management.base import BaseCommand, CommandError

from usage.maintenance import rollups_rebuild


def _day(value: str, option: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
    except ValueError:
        raise CommandError(f"{option}: must be a date like 2026-01-31, not {value!r}") from None


class Command(BaseCommand):
    help = (
        "Delete the rollups of the UTC days from --since up to (not including) --until and sum "
        "them again from the raw request logs, in SQL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="First day, e.g. 2026-01-01")
        parser.add_argument("--until", required=True, help="Day after the last, e.g. 2026-02-01")

    def handle(self, *args, since, until, **options):
        first, end = _day(since, "--since"), _day(until, "--until")
        if end <= first:
            raise CommandError("--until: must be after --since")
        result = rollups_rebuild(since=first, until=end)
        self.stdout.write(
            f"Rebuilt {result.since:%Y-%m-%d} to {result.until:%Y-%m-%d}: {result.hourly} hourly, "
            f"{result.key_day} key-day and {result.user_day} user-day rollup rows."
        )
