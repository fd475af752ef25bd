"""Deletes the admin API's expired Idempotency-Key answers and past rate-limit minutes."""

from django.core.management.base import BaseCommand

from orgs.api_requests import api_records_purge


class Command(BaseCommand):
    help = (
        "Delete Idempotency-Key answers older than 24 hours (they hold new key secrets, "
        "encrypted) and rate-limit counters of past minutes. Run it daily."
    )

    def handle(self, *args, **options):
        answers, windows = api_records_purge()
        self.stdout.write(
            f"Deleted {answers} expired idempotency answers and {windows} past rate-limit minutes."
        )
