"""Creates (or refreshes) the demo organization with one user per role and prints the logins."""

from django.core.management.base import BaseCommand
from django.db import transaction

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

DEMO_ORG_SLUG = "demo"
DEMO_PASSWORD = "prism-demo-password"  # noqa: S105 - printed for newcomers on purpose


def demo_email(role: Role) -> str:
    return f"{role.value}@demo.prism.test"


class Command(BaseCommand):
    help = "Create the demo org 'Demo Org' with an Owner, Admin, Member and Viewer (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
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
        self.stdout.write(f"Password for every demo user: {DEMO_PASSWORD}")
        for role in Role:
            self.stdout.write(f"  {role.label:<7} {demo_email(role)}")

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
            ):
                key_create(organization=organization, actor=Actor(creator), attributes=attributes)
