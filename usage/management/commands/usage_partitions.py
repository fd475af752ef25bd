"""Makes the request log's monthly partitions ahead (PostgreSQL); run after migrate and daily."""

from django.core.management.base import BaseCommand

from usage import partitions


class Command(BaseCommand):
    help = (
        "Create the request log's partitions for this month and the months ahead, and the "
        "default partition (PostgreSQL; nothing to do on SQLite). Runs after every migrate; "
        "run it daily too."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--months-ahead", type=int, default=3, help="Months after this one (default 3)."
        )

    def handle(self, *args, months_ahead, **options):
        if not partitions.partitioned():
            self.stdout.write("SQLite: the request log is one table; no partitions to make.")
            return
        made = partitions.partitions_ensure(months_ahead=max(months_ahead, 0))
        self.stdout.write(f"Made {len(made)} partition(s){': ' + ', '.join(made) if made else ''}.")
        names = [partition.name for partition in partitions.partitions()]
        self.stdout.write(f"Partitions now: {', '.join(names)}")
