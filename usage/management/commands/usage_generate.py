"""Builds a big request log fast, inside the database, for the logs and analytics benchmarks."""

import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from keys.models import VirtualKey
from members.models import User
from orgs.models import Organization
from orgs.services import organization_create
from prism_site.actor import Actor
from usage import partitions
from usage.maintenance import rollups_rebuild
from usage.services import LOG_COLUMNS

# SQL here is built from our own names and integers (never from input).
# ruff: noqa: S608

OWNER_EMAIL = "bench-owner@bench.prism.test"
MODELS = (
    ("gpt-4o", "openai"),
    ("gpt-4o-mini", "openai"),
    ("claude-sonnet-4", "anthropic"),
    ("claude-haiku-4", "anthropic"),
)
CHUNK = 1_000_000


class Command(BaseCommand):
    help = (
        "Generate a large request log server-side (INSERT … SELECT over a number series): one "
        "org holds half the rows on its busy keys, the rest spread over the other orgs; then "
        "rebuild the rollups of the range. For benchmarks, not for production databases."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=10_000_000)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--orgs", type=int, default=100, help="Organizations (2 or more).")
        parser.add_argument("--busy-keys", type=int, default=250, help="Keys of the big org.")
        parser.add_argument("--keys-per-org", type=int, default=4, help="Keys of each other org.")

    def handle(self, *args, rows, days, orgs, busy_keys, keys_per_org, **options):
        if rows < 1 or days < 1 or orgs < 2 or busy_keys < 1 or keys_per_org < 1:
            raise CommandError("--rows, --days, --busy-keys, --keys-per-org ≥ 1; --orgs ≥ 2")
        started = time.monotonic()
        slots = self._orgs_and_keys(orgs, busy_keys, keys_per_org)
        end = timezone.now().replace(microsecond=0)
        first = end - timedelta(days=days)
        partitions.partitions_ensure_between(first=first, last=end)
        run = f"gen{int(end.timestamp())}"
        for start in range(0, rows, CHUNK):
            stop = min(start + CHUNK, rows)
            with transaction.atomic():
                self._insert(slots, start + 1, stop, rows, first, end, run)
            self.stdout.write(f"\rLogs: {stop:,}/{rows:,}", ending="")
            self.stdout.flush()
        self.stdout.write("")
        result = rollups_rebuild(since=first, until=end)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(
            f"{rows:,} logs over {days} days and {result.hourly:,} hourly, {result.key_day:,} "
            f"key-day and {result.user_day:,} user-day rollups "
            f"in {time.monotonic() - started:.1f} s"
        )

    def _orgs_and_keys(self, orgs: int, busy_keys: int, keys_per_org: int) -> list[tuple]:
        """(organization id, key id) slots: the big org's keys are half of them."""
        owner, _ = User.objects.get_or_create(
            email=OWNER_EMAIL, defaults={"display_name": "Benchmark owner"}
        )
        big: list[tuple[int, int]] = []
        small: list[tuple[int, int]] = []
        for number in range(orgs):
            slug = f"bench-{number:04d}"
            organization = Organization.objects.filter(slug=slug).first()
            if organization is None:
                organization = organization_create(name=f"Bench {number:04d}", actor=Actor(owner))
                organization.slug = slug
                organization.save(update_fields=["slug"])
            wanted = busy_keys if number == 0 else keys_per_org
            have = VirtualKey.objects.filter(organization=organization).count()
            VirtualKey.objects.bulk_create(
                VirtualKey(
                    organization=organization,
                    public_id=f"key_bench{organization.pk:06d}{index:05d}",
                    name=f"bench key {index}",
                    secret_hash=f"{organization.pk:032x}{index:032x}",
                    secret_prefix="sk-prism-bench",  # noqa: S106 - no secret behind it
                    secret_last4=f"{index:04d}"[-4:],
                )
                for index in range(have, wanted)
            )
            pks = VirtualKey.objects.filter(organization=organization).order_by("pk")
            (big if number == 0 else small).extend(
                (organization.pk, pk) for pk in pks.values_list("pk", flat=True)[:wanted]
            )
        # As many slots for the big org as for all the others: it holds half the rows.
        size = max(len(big), len(small))
        return [*(big * size)[:size], *(small * size)[:size]]

    def _insert(self, slots, low: int, high: int, total: int, first, end, run: str) -> None:
        postgresql = connection.vendor == "postgresql"
        span = int((end - first).total_seconds())
        slot_rows = ", ".join(f"({n}, {org}, {key})" for n, (org, key) in enumerate(slots))
        if postgresql:
            series = f"generate_series({low}::bigint, {high}::bigint) AS s(g)"
            prefix = ""
            started = (
                f"TIMESTAMPTZ '{end.isoformat()}' "
                f"- (g::bigint * {span} / {total}) * INTERVAL '1 second'"
            )
        else:
            series = "s"
            prefix = (
                f"WITH RECURSIVE s(g) AS (SELECT {low} UNION ALL SELECT g + 1 FROM s "
                f"WHERE g < {high}), "
            )
            started = (
                f"datetime('{end:%Y-%m-%d %H:%M:%S}', '-' || (g * {span} / {total}) || ' seconds')"
            )
        models = " ".join(f"WHEN {i} THEN '{model}'" for i, (model, _) in enumerate(MODELS))
        providers = " ".join(f"WHEN {i} THEN '{p}'" for i, (_, p) in enumerate(MODELS))
        tokens = "(100 + (g * 31) % 2000)"
        values = {
            "organization_id": "slot.organization_id",
            "key_id": "slot.key_id",
            "request_id": f"'{run}-' || g",
            "model": f"CASE g % {len(MODELS)} {models} END",
            "provider": f"CASE g % {len(MODELS)} {providers} END",
            "status_code": "CASE WHEN g % 50 = 0 THEN 500 WHEN g % 37 = 0 THEN 429 ELSE 200 END",
            "latency_ms": "200 + (g * 7919) % 1500 + CASE WHEN g % 100 = 0 THEN 20000 ELSE 0 END",
            "ttft_ms": "80 + (g * 7919) % 400",
            "input_tokens": tokens,
            "output_tokens": "(g * 17) % 800",
            "cached_tokens": "0",
            "cost": f"CAST({tokens} AS numeric) * 0.000003",
            "cache_hit": "g % 9 = 0",
            "fallback_used": "g % 53 = 0",
            "started_at": started,
            # 1,000 end users in the big org, 40 in each other one.
            "end_user": (
                f"'user-' || (g % CASE WHEN slot.n < {len(slots) // 2} THEN 1000 ELSE 40 END)"
            ),
            "session_id": "''",
            "error": "CASE WHEN g % 50 = 0 THEN 'provider error' ELSE '' END",
            "metadata": "'{}'" + ("::jsonb" if postgresql else ""),
            "ingested_at": "CURRENT_TIMESTAMP",
        }
        columns = [column for column, _ in LOG_COLUMNS]
        sql = (
            f"{prefix or 'WITH '}slot(n, organization_id, key_id) AS (VALUES {slot_rows}) "
            f"INSERT INTO usage_requestlog ({', '.join(columns)}) "
            f"SELECT {', '.join(values[column] for column in columns)} "
            f"FROM {series} JOIN slot ON slot.n = (g * 7919) % {len(slots)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql)  # no parameters: its `%` are SQL's modulo
