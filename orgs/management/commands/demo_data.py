"""Creates (or refreshes) the demo organization with one user per role and prints the logins."""

from django.core.management.base import BaseCommand
from django.db import transaction

from members.models import Membership, User
from members.services import membership_add, membership_change_role
from orgs.models import Organization
from orgs.roles import Role
from orgs.services import organization_create

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
            organization = organization_create(name="Demo Org", creator=users[Role.OWNER])
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
                    organization=organization, membership_id=membership.pk, role=role, actor=owner
                )

        self.stdout.write(
            self.style.SUCCESS(f"Demo organization: {organization.name} (/o/{organization.slug}/)")
        )
        self.stdout.write(f"Password for every demo user: {DEMO_PASSWORD}")
        for role in Role:
            self.stdout.write(f"  {role.label:<7} {demo_email(role)}")
