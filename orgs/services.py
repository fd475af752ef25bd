"""Every write to an organization: create, rename, delete."""

from django.db import transaction
from django.utils.text import slugify

from members.services import membership_add
from orgs import audit
from orgs.models import Organization
from orgs.permissions import role_groups_create, role_groups_delete
from orgs.roles import Role

RESERVED_SLUGS = {"new", "admin", "api", "settings", "static"}


def unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    if base in RESERVED_SLUGS:
        base = f"{base}-org"
    slug, suffix = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{suffix}"
        suffix += 1
    return slug


@transaction.atomic
def organization_create(*, name: str, creator, ip_address: str | None = None) -> Organization:
    organization = Organization.objects.create(name=name.strip(), slug=unique_slug(name))
    role_groups_create(organization)
    membership_add(organization=organization, user=creator, role=Role.OWNER)
    audit.record(
        organization=organization,
        actor=creator,
        action="organization.create",
        target=organization.name,
        ip_address=ip_address,
    )
    return organization


@transaction.atomic
def organization_rename(
    *, organization: Organization, name: str, actor, ip_address: str | None = None
) -> Organization:
    old_name = organization.name
    organization.name = name.strip()
    organization.save(update_fields=["name"])
    audit.record(
        organization=organization,
        actor=actor,
        action="organization.rename",
        target=organization.name,
        ip_address=ip_address,
        details={"from": old_name, "to": organization.name},
    )
    return organization


@transaction.atomic
def organization_delete(*, organization: Organization, actor) -> None:
    """Remove the org and everything of it (memberships, config, keys, logs, audit)."""
    role_groups_delete(organization)
    organization.delete()
