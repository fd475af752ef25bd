"""Re-encrypts every stored provider secret under the newest PROVIDER_SECRET_KEYS key."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from orgs import secrets
from orgs.models import ProviderSecret

BATCH_SIZE = 200


class Command(BaseCommand):
    # --generate-key must work before a valid key exists; handle() checks the keys itself.
    requires_system_checks = []
    help = (
        "Rotate provider-secret encryption: put a new key first in PROVIDER_SECRET_KEYS (keep "
        "the old ones after it), run this, then remove the old keys. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--generate-key",
            action="store_true",
            help="Print a new random key for PROVIDER_SECRET_KEYS and exit.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be re-encrypted."
        )

    def handle(self, *args, generate_key=False, dry_run=False, **options):
        if generate_key:
            self.stdout.write(secrets.generate_key())
            return
        try:
            newest = secrets.newest_key_id()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        stale = ProviderSecret.objects.exclude(key_id=newest)
        total = stale.count()
        if dry_run:
            self.stdout.write(f"{total} provider secret(s) would be re-encrypted under {newest}.")
            return
        done, failed = 0, []
        while True:
            with transaction.atomic():
                # Rows this run could not decrypt stay behind; skip them so the loop ends.
                batch = list(
                    stale.exclude(pk__in=failed).select_for_update().order_by("pk")[:BATCH_SIZE]
                )
                if not batch:
                    break
                for row in batch:
                    try:
                        plaintext = secrets.decrypt(
                            row.ciphertext, key_id=row.key_id, organization_id=row.organization_id
                        )
                    except secrets.SecretUnavailable as error:
                        failed.append(row.pk)
                        self.stderr.write(f"provider secret {row.pk}: {error}")
                        continue
                    row.key_id, row.ciphertext = secrets.encrypt(
                        plaintext, organization_id=row.organization_id
                    )
                    row.save(update_fields=["key_id", "ciphertext"])
                    done += 1
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {done} provider secret(s) under key {newest}.")
        )
        if failed:
            raise CommandError(
                f"{len(failed)} provider secret(s) could not be decrypted with the configured "
                "keys; see the messages above."
            )
