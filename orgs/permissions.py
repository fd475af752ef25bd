"""Guardian object permissions on organizations, derived from Membership rows.

Membership is the source of truth. Each org has one Group per role holding that role's
capabilities as object permissions on the org; a member sits in exactly the group of their role.
Callers run these inside the transaction that changes the membership.
"""

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from orgs.models import Organization, OrganizationGroupObjectPermission, RoleGroup
from orgs.roles import ROLE_CAPABILITIES, Role


def role_groups_create(organization: Organization) -> None:
    permissions = {
        permission.codename: permission
        for permission in Permission.objects.filter(
            content_type=ContentType.objects.get_for_model(Organization)
        )
    }
    grants = []
    for role in Role:
        group = Group.objects.create(name=f"org-{organization.pk}-{role.value}")
        RoleGroup.objects.create(organization=organization, role=role, group=group)
        grants += [
            OrganizationGroupObjectPermission(
                group=group, permission=permissions[capability.value], content_object=organization
            )
            for capability in ROLE_CAPABILITIES[role]
        ]
    OrganizationGroupObjectPermission.objects.bulk_create(grants)


def role_groups_delete(organization: Organization) -> None:
    Group.objects.filter(role_group__organization=organization).delete()


def membership_permissions_sync(*, user, organization: Organization, role: str | None) -> None:
    """Put the user in the group of `role` for this org (None: in no group of the org)."""
    groups = dict(
        RoleGroup.objects.filter(organization=organization).values_list("role", "group_id")
    )
    user.groups.remove(*[group_id for r, group_id in groups.items() if r != role])
    if role is not None:
        user.groups.add(groups[role])


def organization_permissions(user, organization: Organization) -> frozenset[str]:
    """The capability codenames the user holds on the org, read from guardian's tables.

    Read directly (one query) rather than through ObjectPermissionChecker, whose superuser
    shortcut would hand staff every capability in every org.
    """
    return frozenset(
        OrganizationGroupObjectPermission.objects.filter(
            content_object=organization, group__user=user
        ).values_list("permission__codename", flat=True)
    )
