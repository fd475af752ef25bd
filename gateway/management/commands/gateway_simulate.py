"""Simulate a gateway posting request logs for an org's keys to a running control plane."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gateway.simulate import deliver
from keys.models import VirtualKey
from usage.demo_traffic import traffic_rows


class Command(BaseCommand):
    help = (
        "Post generated request logs for the keys of one org to a control plane's "
        "POST /v1/gateway/logs, in batches, several at once; prints rows/s."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the control plane")
        parser.add_argument("--token", required=True, help="one of its GATEWAY_TOKENS")
        parser.add_argument("--org", required=True, help="the slug of the org whose keys send")
        parser.add_argument("--rows", type=int, default=10_000)
        parser.add_argument("--days", type=int, default=7, help="spread over the last N days")
        parser.add_argument("--batch", type=int, default=1_000)
        parser.add_argument("--clients", type=int, default=2, help="batches posted at once")

    def handle(self, *args, **options):
        key_ids = list(
            VirtualKey.objects.filter(
                organization__slug=options["org"], revoked_at__isnull=True
            ).values_list("public_id", flat=True)
        )
        if not key_ids:
            raise CommandError(f"--org: {options['org']} has no active keys to send with.")
        if not 1 <= options["batch"] <= 5_000:
            raise CommandError("--batch: between 1 and 5000 rows (the API's limit).")
        now = timezone.now()
        rows, seed = [], 1
        # The traffic follows the day (quiet nights, lighter weekends), so one pass may fall
        # short of --rows: another pass with another seed adds more.
        while len(rows) < options["rows"]:
            rows += traffic_rows(
                key_ids=key_ids,
                key_weights=[1] * len(key_ids),
                end=now,
                days=options["days"],
                per_day=max(1, options["rows"] // options["days"]),
                seed=seed,
                request_prefix=f"simulated-{int(now.timestamp())}-{seed}",
            )
            seed += 1
        rows = rows[: options["rows"]]
        delivery = deliver(
            options["url"],
            options["token"],
            rows,
            batch=options["batch"],
            clients=options["clients"],
        )
        self.stdout.write(
            f"{delivery.rows:,} rows in {delivery.seconds:.2f} s ({delivery.rows_per_second:,.0f} "
            f"rows/s): {delivery.accepted:,} stored, {delivery.duplicates:,} duplicates, "
            f"{delivery.rejected:,} rejected"
        )
