"""Role grants follow orgs/roles.py: every org's role groups hold exactly ROLE_CAPABILITIES,
also after the matrix changes, and one sync brings existing orgs along."""

import importlib
import io
from types import SimpleNamespace

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orgs import roles
from orgs.access import access_organization
from orgs.models import Organization, OrganizationGroupObjectPermission, RoleGroup
from orgs.permissions import organization_permissions, role_grants_sync
from orgs.roles import Capability, Role
from prism_site.errors import Refused
from tests.factories import make_organization


def grants_in_database() -> dict[tuple[int, str], set[tuple[int, str]]]:
    """(org id, role) -> {(granted-on org id, codename)}, read from guardian's group table."""
    grants = {
        (org_id, role): set()
        for org_id, role in RoleGroup.objects.values_list("organization_id", "role")
    }
    rows = OrganizationGroupObjectPermission.objects.filter(
        group__role_group__isnull=False
    ).values_list(
        "group__role_group__organization_id",
        "group__role_group__role",
        "content_object_id",
        "permission__codename",
    )
    for org_id, role, on_org_id, codename in rows:
        grants[org_id, role].add((on_org_id, codename))
    return grants


def grants_expected() -> dict[tuple[int, str], set[tuple[int, str]]]:
    """What roles.py says, for every org and every role."""
    return {
        (org_id, role.value): {
            (org_id, capability.value) for capability in roles.ROLE_CAPABILITIES[role]
        }
        for org_id in Organization.objects.values_list("pk", flat=True)
        for role in Role
    }


def changed_matrix() -> dict[Role, frozenset[Capability]]:
    """Viewers may now see the config; Admins no longer see the audit log."""
    matrix = dict(roles.ROLE_CAPABILITIES)
    matrix[Role.VIEWER] = matrix[Role.VIEWER] | {Capability.VIEW_CONFIG}
    matrix[Role.ADMIN] = matrix[Role.ADMIN] - {Capability.VIEW_AUDIT}
    return matrix


@pytest.fixture
def organizations(organization, other_organization):
    return [organization, other_organization, make_organization("Third")]


def test_database_grants_equal_roles_py_for_every_org_and_role(organizations):
    assert len(grants_expected()) == 3 * len(Role)
    assert grants_in_database() == grants_expected()


def test_existing_orgs_follow_a_changed_matrix(organizations, admin, viewer, monkeypatch):
    organization = organizations[0]
    assert Capability.VIEW_CONFIG.value not in organization_permissions(viewer, organization)
    assert Capability.VIEW_AUDIT.value in organization_permissions(admin, organization)

    monkeypatch.setattr(roles, "ROLE_CAPABILITIES", changed_matrix())
    change = role_grants_sync()

    assert (change.added, change.removed) == (3, 3)
    assert change.organizations_changed == 3
    assert grants_in_database() == grants_expected()
    assert Capability.VIEW_CONFIG.value in organization_permissions(viewer, organization)
    assert access_organization(viewer, organization.slug, Capability.VIEW_CONFIG)
    assert Capability.VIEW_AUDIT.value not in organization_permissions(admin, organization)
    with pytest.raises(Refused):
        access_organization(admin, organization.slug, Capability.VIEW_AUDIT)
    # An org created under the new matrix gets the same grants as the synced ones.
    make_organization("Fourth")
    assert grants_in_database() == grants_expected()

    monkeypatch.undo()
    change = role_grants_sync()
    assert (change.added, change.removed, change.organizations_changed) == (4, 4, 4)
    assert grants_in_database() == grants_expected()
    assert Capability.VIEW_AUDIT.value in organization_permissions(admin, organization)


def test_sync_repairs_missing_and_stray_grants(organizations, viewer):
    organization, other, third = organizations
    viewer_group = RoleGroup.objects.get(organization=organization, role=Role.VIEWER).group
    manage_owners = Permission.objects.get(codename=Capability.MANAGE_OWNERS.value)
    # A stray capability, a grant on another org, and a missing one.
    OrganizationGroupObjectPermission.objects.create(
        group=viewer_group, permission=manage_owners, content_object=organization
    )
    OrganizationGroupObjectPermission.objects.create(
        group=viewer_group,
        permission=Permission.objects.get(codename=Capability.VIEW_OVERVIEW.value),
        content_object=other,
    )
    OrganizationGroupObjectPermission.objects.filter(
        group__role_group__organization=third,
        group__role_group__role=Role.OWNER,
        permission__codename=Capability.VIEW_AUDIT.value,
    ).delete()
    assert Capability.MANAGE_OWNERS.value in organization_permissions(viewer, organization)

    change = role_grants_sync()

    assert (change.added, change.removed, change.organizations_changed) == (1, 2, 2)
    assert grants_in_database() == grants_expected()
    assert organization_permissions(viewer, organization) == {
        capability.value for capability in roles.ROLE_CAPABILITIES[Role.VIEWER]
    }


def test_sync_creates_a_missing_role_group_and_capability_permission(organizations):
    organization, other, _ = organizations
    # A role group lost (its group left behind under the same name), one lost with its group.
    RoleGroup.objects.filter(organization=organization, role=Role.VIEWER).delete()
    Group.objects.filter(role_group__organization=other, role_group__role=Role.MEMBER).delete()
    # A capability whose Permission row is gone (the delete takes its grants with it).
    Permission.objects.filter(codename=Capability.VIEW_AUDIT.value).delete()

    change = role_grants_sync()

    assert change.role_groups_created == 2
    assert grants_in_database() == grants_expected()
    assert Permission.objects.get(codename=Capability.VIEW_AUDIT.value).name == (
        Capability.VIEW_AUDIT.label
    )
    assert Group.objects.filter(name=f"org-{organization.pk}-viewer").count() == 1
    # The group left behind is not reused: nobody keeps access through it.
    assert not Group.objects.filter(name__startswith="org-", role_group__isnull=True).exists()


def test_sync_is_idempotent_and_its_queries_do_not_grow_with_orgs(organizations):
    role_grants_sync()
    with CaptureQueriesContext(connection) as few:
        change = role_grants_sync()
    assert (change.added, change.removed, change.role_groups_created) == (0, 0, 0)
    assert change.organizations_changed == 0
    assert change.organizations == 3

    for n in range(7):
        make_organization(f"More {n}")
    with CaptureQueriesContext(connection) as many:
        assert not role_grants_sync().organizations_changed
    assert len(many) == len(few)
    assert grants_in_database() == grants_expected()


def test_sync_queries_do_not_grow_with_orgs_when_the_matrix_changes(organizations, monkeypatch):
    monkeypatch.setattr(roles, "ROLE_CAPABILITIES", changed_matrix())
    with CaptureQueriesContext(connection) as few:
        assert role_grants_sync().organizations_changed == 3
    monkeypatch.undo()
    role_grants_sync()
    for n in range(7):
        make_organization(f"More {n}")

    monkeypatch.setattr(roles, "ROLE_CAPABILITIES", changed_matrix())
    with CaptureQueriesContext(connection) as many:
        assert role_grants_sync().organizations_changed == 10
    assert len(many) == len(few)


def test_management_command_prints_what_it_changed(organizations, monkeypatch):
    monkeypatch.setattr(roles, "ROLE_CAPABILITIES", changed_matrix())
    out = io.StringIO()
    call_command("role_grants_sync", stdout=out)
    assert out.getvalue().strip() == (
        "Role grants: added 3, removed 3, role groups created 0, in 3 of 3 organizations."
    )

    out = io.StringIO()
    call_command("role_grants_sync", stdout=out)
    assert out.getvalue().strip() == (
        "Role grants: added 0, removed 0, role groups created 0, in 0 of 3 organizations."
    )


def test_every_migrate_brings_grants_to_roles_py(organizations, viewer, monkeypatch):
    monkeypatch.setattr(roles, "ROLE_CAPABILITIES", changed_matrix())
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    assert grants_in_database() == grants_expected()
    assert Capability.VIEW_CONFIG.value in organization_permissions(viewer, organizations[0])


def test_the_data_migration_brings_grants_to_the_matrix_of_its_day(organizations):
    OrganizationGroupObjectPermission.objects.filter(
        content_object=organizations[1], group__role_group__role=Role.ADMIN
    ).delete()
    RoleGroup.objects.filter(organization=organizations[2], role=Role.OWNER).delete()

    migration = importlib.import_module("orgs.migrations.0003_role_grants")
    migration.role_grants_sync(global_apps, SimpleNamespace(connection=connection))

    # The matrix it froze is today's roles.py.
    assert grants_in_database() == grants_expected()
