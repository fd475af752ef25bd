"""Brings every organization's role grants to orgs/roles.py and prints what changed."""

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from orgs.permissions import role_grants_sync


class Command(BaseCommand):
    help = (
        "Bring every organization's role groups to exactly the capabilities of orgs/roles.py "
        "(also runs after every migrate). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database=DEFAULT_DB_ALIAS, **options):
        self.stdout.write(str(role_grants_sync(using=database)))
