"""Creates (or refreshes) the demo organization with one user per role; the first run also fills
it with 30 days of gateway traffic, through the ingestion service. The logins are printed by
`demo_runserver` (`demo_logins`), as the last lines `make run` shows before serving."""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from keys.models import VirtualKey
from keys.services import KeyAttributes, key_create
from members.models import User
from members.services import membership_change_role
from orgs.models import Membership, Organization
from orgs.roles import Role
from orgs.selectors import organization_config
from orgs.services import (
    config_provider_save,
    config_section_update,
    membership_add,
    organization_create,
)
from prism_site.actor import Actor
from usage.demo_traffic import traffic_rows
from usage.models import RequestLog
from usage.selectors import period_window
from usage.services import logs_ingest

DEMO_ORG_SLUG = "demo"
DEMO_PASSWORD = "prism-demo-password"  # noqa: S105 - printed for newcomers on purpose
TRAFFIC_DAYS = 30
TRAFFIC_PER_DAY = 800
TRAFFIC_BATCH = 1_000
# The key whose monthly budget the traffic brings near its limit, and how near.
NEAR_LIMIT_KEY = "batch-summarizer"
NEAR_LIMIT_BUDGET = Decimal(150)
NEAR_LIMIT_SHARE = Decimal("0.88")


def demo_email(role: Role) -> str:
    return f"{role.value}@demo.prism.test"


def demo_logins(dashboard_url: str) -> list[str]:
    """What a newcomer needs to sign in: the password, one line per demo user, the address."""
    return [
        f"Demo logins, password {DEMO_PASSWORD}:",
        *(f"  {role.label:<7} {demo_email(role)}" for role in Role),
        f"Dashboard: {dashboard_url}",
    ]


class Command(BaseCommand):
    help = (
        "Create the demo org 'Demo Org' with an Owner, Admin, Member and Viewer, sample config and "
        "keys, and 30 days of traffic (idempotent: traffic is added once)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--requests-per-day",
            type=int,
            default=TRAFFIC_PER_DAY,
            help=f"Traffic volume (default {TRAFFIC_PER_DAY}; 0 adds none).",
        )

    def handle(self, *args, requests_per_day, **options):
        organization = self._organization_and_people()
        if requests_per_day > 0:
            self._traffic(organization, requests_per_day)

    @transaction.atomic
    def _organization_and_people(self):
        users = {}
        for role in Role:
            user, _ = User.objects.get_or_create(
                email=demo_email(role), defaults={"display_name": f"Demo {role.label}"}
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            users[role] = user

        organization = Organization.objects.filter(slug=DEMO_ORG_SLUG).first()
        if organization is None:
            organization = organization_create(name="Demo Org", actor=Actor(users[Role.OWNER]))
            if organization.slug != DEMO_ORG_SLUG:
                organization.slug = DEMO_ORG_SLUG
                organization.save(update_fields=["slug"])

        owner = users[Role.OWNER]
        for role, user in users.items():
            membership = Membership.objects.filter(organization=organization, user=user).first()
            if membership is None:
                membership_add(organization=organization, user=user, role=role)
            elif membership.role != role and user != owner:
                membership_change_role(
                    organization=organization,
                    membership_id=membership.pk,
                    role=role,
                    actor=Actor(owner),
                )

        self._sample_config_and_keys(organization, users)

        self.stdout.write(
            self.style.SUCCESS(f"Demo organization: {organization.name} (/o/{organization.slug}/)")
        )
        return organization

    def _sample_config_and_keys(self, organization, users):
        """Give a newcomer something to look at: providers, a budget and a few keys."""
        admin = users[Role.ADMIN]
        config = organization_config(organization)
        if not config.providers:
            for values in (
                {
                    "name": "openai-main",
                    "type": "openai",
                    "models": ["gpt-4o", "gpt-4o-mini"],
                    "api_key": "sk-demo-openai-placeholder-0000",
                },
                {
                    "name": "anthropic-main",
                    "type": "anthropic",
                    "models": ["claude-sonnet-4", "claude-haiku-4"],
                    "api_key": "sk-ant-demo-placeholder-0000",
                },
            ):
                config_provider_save(
                    organization=organization,
                    actor=Actor(admin),
                    base_version=None,
                    original_name=None,
                    values=values,
                    message=f"Demo data: {values['name']}",
                )
            config_section_update(
                organization=organization,
                actor=Actor(admin),
                base_version=None,
                section="budgets",
                values={"enabled": True, "limit": "500", "period": "monthly"},
                message="Demo data: monthly budget",
            )
        if not VirtualKey.objects.filter(organization=organization).exists():
            for creator, attributes in (
                (admin, KeyAttributes(name="production-backend", rate_limit_rpm=600)),
                (
                    users[Role.MEMBER],
                    KeyAttributes(name="notebook-experiments", allowed_models=["gpt-4o-mini"]),
                ),
                (admin, KeyAttributes(name="support-bot", rate_limit_rpm=120)),
                (
                    admin,
                    KeyAttributes(
                        name=NEAR_LIMIT_KEY,
                        budget_limit=NEAR_LIMIT_BUDGET,
                        budget_period="monthly",
                    ),
                ),
            ):
                key_create(organization=organization, actor=Actor(creator), attributes=attributes)

    def _traffic(self, organization, per_day: int) -> None:
        """30 days of requests on the demo keys, sent through `logs_ingest` in batches as a
        gateway would; once (later runs find the logs there)."""
        if RequestLog.objects.filter(organization=organization).exists():
            self.stdout.write("Traffic: already there.")
            return
        keys = {
            key.name: key
            for key in VirtualKey.objects.filter(organization=organization).order_by("pk")
        }
        weights = {
            "production-backend": 0.55,
            "support-bot": 0.25,
            "notebook-experiments": 0.08,
            NEAR_LIMIT_KEY: 0.12,
        }
        named = [name for name in weights if name in keys]
        now = timezone.now()
        rows = list(
            traffic_rows(
                key_ids=[keys[name].public_id for name in named],
                key_weights=[weights[name] for name in named],
                key_models={
                    keys[name].public_id: key.allowed_models
                    for name, key in keys.items()
                    if key.allowed_models
                },
                end=now - timedelta(seconds=1),
                days=TRAFFIC_DAYS,
                per_day=per_day,
            )
        )
        if NEAR_LIMIT_KEY in keys:
            self._near_limit(rows, keys[NEAR_LIMIT_KEY].public_id, now)
        # A counter rewritten in place on a terminal; a log or pipe gets the final line only.
        progress = self.stdout.isatty()
        stored = 0
        for start in range(0, len(rows), TRAFFIC_BATCH):
            result = logs_ingest(rows=rows[start : start + TRAFFIC_BATCH], now=now)
            stored += result.accepted
            if progress:
                done = min(start + TRAFFIC_BATCH, len(rows))
                self.stdout.write(f"\rTraffic: {done:,}/{len(rows):,} requests", ending="")
                self.stdout.flush()
        # "\r" and clear-to-end-of-line put the result over the counter, on a line of its own.
        done_line = f"Traffic: {stored:,} requests over {TRAFFIC_DAYS} days stored."
        self.stdout.write(f"\r{done_line}\x1b[K" if progress else done_line)

    def _near_limit(self, rows: list[dict], public_id: str, now) -> None:
        """Scale the key's spend this month to NEAR_LIMIT_SHARE of its budget: a budget nearing
        its limit, whatever day of the month the demo is made."""
        start = period_window("monthly", now).start.isoformat()
        this_month = [
            row for row in rows if row["key_id"] == public_id and row["started_at"] >= start
        ]
        spent = sum(Decimal(str(row["cost"])) for row in this_month)
        if not spent:
            return
        factor = NEAR_LIMIT_BUDGET * NEAR_LIMIT_SHARE / spent
        for row in this_month:
            row["cost"] = float(round(Decimal(str(row["cost"])) * factor, 10))
