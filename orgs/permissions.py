"""Guardian object permissions on organizations, derived from Membership rows and orgs/roles.py.

Membership is the source of truth for who holds a role, `ROLE_CAPABILITIES` for what a role may
do. Each org has one Group per role holding that role's capabilities as object permissions on the
org; a member sits in exactly the group of their role. `role_grants_sync` brings every org's
groups to the matrix (after every `migrate`, and by `manage.py role_grants_sync`). Callers run the
membership functions inside the transaction that changes the membership.
"""

from dataclasses import dataclass

from django.apps import apps as global_apps
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F

from orgs import roles
from orgs.models import Organization, OrganizationGroupObjectPermission, RoleGroup
from orgs.roles import Role


def role_grants() -> dict[str, frozenset[str]]:
    """The capability codenames each role's group holds on its org: `ROLE_CAPABILITIES`, read
    when called, so a new org and the next sync both get the matrix as it is now."""
    return {
        role.value: frozenset(capability.value for capability in capabilities)
        for role, capabilities in roles.ROLE_CAPABILITIES.items()
    }


def role_group_name(organization_id: int, role: str) -> str:
    return f"org-{organization_id}-{role}"


def _capability_permission_ids(apps, using: str) -> dict[str, int]:
    """codename -> Permission id for every capability, creating rows that are missing (a
    capability added to roles.py, or a database whose permissions were never created)."""
    Organization = apps.get_model("orgs", "Organization")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    # The capabilities are the model's Meta permissions (roles.Capability); a codename the
    # matrix uses that the registry's model does not list yet is named after its Capability.
    names = dict(Organization._meta.permissions)
    for codename in frozenset().union(*role_grants().values()) - names.keys():
        names[codename] = roles.Capability(codename).label
    content_type = ContentType.objects.db_manager(using).get_for_model(
        Organization, for_concrete_model=False
    )
    permissions = Permission.objects.using(using).filter(content_type=content_type)
    ids = dict(permissions.filter(codename__in=names).values_list("codename", "pk"))
    if missing := sorted(names.keys() - ids.keys()):
        Permission.objects.using(using).bulk_create(
            Permission(content_type=content_type, codename=codename, name=names[codename][:255])
            for codename in missing
        )
        ids = dict(permissions.filter(codename__in=names).values_list("codename", "pk"))
    return ids


def role_groups_create(organization: Organization) -> None:
    permission_ids = _capability_permission_ids(global_apps, DEFAULT_DB_ALIAS)
    grants = role_grants()
    rows = []
    for role in Role:
        group = Group.objects.create(name=role_group_name(organization.pk, role.value))
        RoleGroup.objects.create(organization=organization, role=role, group=group)
        rows += [
            OrganizationGroupObjectPermission(
                group=group, permission_id=permission_ids[codename], content_object=organization
            )
            for codename in sorted(grants.get(role.value, ()))
        ]
    OrganizationGroupObjectPermission.objects.bulk_create(rows)


@dataclass(frozen=True)
class RoleGrantsChange:
    added: int
    removed: int
    role_groups_created: int
    organizations_changed: int
    organizations: int

    def __str__(self):
        return (
            f"Role grants: added {self.added}, removed {self.removed}, role groups created "
            f"{self.role_groups_created}, in {self.organizations_changed} of "
            f"{self.organizations} organizations."
        )


def role_grants_sync(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> RoleGrantsChange:
    """Bring every org's role groups to exactly `ROLE_CAPABILITIES`: create missing role groups,
    add missing grants, remove every other grant a role group holds. Idempotent.

    Set-based (INSERT … SELECT, DELETE … WHERE): a fixed number of queries per role, whatever
    the number of orgs. `apps` is a model registry: the migration state when run after
    `migrate`, so it also works while the code is ahead of the database.
    """
    Organization = apps.get_model("orgs", "Organization")
    RoleGroup = apps.get_model("orgs", "RoleGroup")
    Grant = apps.get_model("orgs", "OrganizationGroupObjectPermission")
    Group = apps.get_model("auth", "Group")
    grants = role_grants()
    sql = _SyncSql(apps, using)
    changed: set[int] = set()
    added = removed = created = 0
    with transaction.atomic(using=using):
        permission_ids = _capability_permission_ids(apps, using)
        for role in Role:
            # A role added to roles.py later (or a role group lost): create its group, empty;
            # members join it through the role services.
            lacking = Organization.objects.using(using).exclude(
                pk__in=RoleGroup.objects.filter(role=role.value).values("organization_id")
            )
            if lacking_ids := set(lacking.values_list("pk", flat=True)):
                # A group left behind by a lost role group is not reused: its users would keep
                # access that nobody checked again.
                Group.objects.using(using).filter(
                    name__in=[role_group_name(pk, role.value) for pk in lacking_ids],
                    role_group__isnull=True,
                ).delete()
                created += sql.role_groups_insert(role.value)
                changed |= lacking_ids

            wanted = sorted(permission_ids[codename] for codename in grants.get(role.value, ()))
            if wanted:
                organization_ids = sql.grants_insert(role.value, wanted)
                added += len(organization_ids)
                changed.update(organization_ids)
            extra = Grant.objects.using(using).filter(group__role_group__role=role.value)
            if wanted:
                extra = extra.exclude(
                    permission_id__in=wanted,
                    content_object_id=F("group__role_group__organization_id"),
                )
            removed += _grants_remove(extra, changed)

        # The groups of a role no longer in roles.py hold nothing.
        extra = Grant.objects.using(using).filter(group__role_group__isnull=False)
        removed += _grants_remove(
            extra.exclude(group__role_group__role__in=[role.value for role in Role]), changed
        )
        organizations = Organization.objects.using(using).count()
    return RoleGrantsChange(added, removed, created, len(changed), organizations)


def _grants_remove(grants, changed: set[int]) -> int:
    """Delete `grants` (one DELETE … WHERE), noting the orgs whose role groups held them."""
    organization_ids = set(
        grants.values_list("group__role_group__organization_id", flat=True).distinct()
    )
    if not organization_ids:
        return 0
    changed |= organization_ids
    return grants.delete()[0]


# Identifiers come from the models' metadata, quoted by the backend; values are parameters.
_GROUPS_INSERT = """
    INSERT INTO {group} ({group_name})
    SELECT {group_name_of_org} FROM {org} o
    WHERE NOT EXISTS (
        SELECT 1 FROM {role_group} rg WHERE rg.{rg_org} = o.{org_id} AND rg.{rg_role} = %(role)s
    )
"""
_ROLE_GROUPS_INSERT = """
    INSERT INTO {role_group} ({rg_org}, {rg_role}, {rg_group})
    SELECT o.{org_id}, %(role)s, g.{group_id}
    FROM {org} o JOIN {group} g ON g.{group_name} = {group_name_of_org}
    WHERE NOT EXISTS (
        SELECT 1 FROM {role_group} rg WHERE rg.{rg_org} = o.{org_id} AND rg.{rg_role} = %(role)s
    )
"""
_GRANTS_INSERT = """
    INSERT INTO {grant} ({grant_group}, {grant_permission}, {grant_object})
    SELECT rg.{rg_group}, p.{permission_id}, rg.{rg_org}
    FROM {role_group} rg CROSS JOIN {permission} p
    WHERE rg.{rg_role} = %(role)s AND p.{permission_id} IN ({permission_ids})
    AND NOT EXISTS (
        SELECT 1 FROM {grant} g
        WHERE g.{grant_group} = rg.{rg_group} AND g.{grant_permission} = p.{permission_id}
        AND g.{grant_object} = rg.{rg_org}
    )
    RETURNING {grant_object}
"""


class _SyncSql:
    """The INSERT … SELECT statements the ORM cannot write, on the tables of `apps`' models."""

    def __init__(self, apps, using: str):
        self.connection = connections[using]
        quote = self.connection.ops.quote_name

        def table(label):
            return quote(apps.get_model(label)._meta.db_table)

        def column(label, field):
            return quote(apps.get_model(label)._meta.get_field(field).column)

        self.names = {
            "org": table("orgs.Organization"),
            "org_id": column("orgs.Organization", "id"),
            "role_group": table("orgs.RoleGroup"),
            "rg_org": column("orgs.RoleGroup", "organization"),
            "rg_role": column("orgs.RoleGroup", "role"),
            "rg_group": column("orgs.RoleGroup", "group"),
            "group": table("auth.Group"),
            "group_id": column("auth.Group", "id"),
            "group_name": column("auth.Group", "name"),
            "permission": table("auth.Permission"),
            "permission_id": column("auth.Permission", "id"),
            "grant": table("orgs.OrganizationGroupObjectPermission"),
            "grant_group": column("orgs.OrganizationGroupObjectPermission", "group"),
            "grant_permission": column("orgs.OrganizationGroupObjectPermission", "permission"),
            "grant_object": column("orgs.OrganizationGroupObjectPermission", "content_object"),
        }
        # role_group_name() in SQL.
        self.names["group_name_of_org"] = "('org-' || o.{org_id} || '-' || %(role)s)".format(
            **self.names
        )

    def _execute(self, cursor, template: str, params: dict, **names):
        cursor.execute(template.format(**self.names, **names), params)

    def role_groups_insert(self, role: str) -> int:
        """A Group and a RoleGroup of `role` for every org without one; returns how many."""
        with self.connection.cursor() as cursor:
            self._execute(cursor, _GROUPS_INSERT, {"role": role})
            self._execute(cursor, _ROLE_GROUPS_INSERT, {"role": role})
            return cursor.rowcount

    def grants_insert(self, role: str, permission_ids: list[int]) -> list[int]:
        """Add the grants of `permission_ids` the role's groups lack; returns each one's org."""
        with self.connection.cursor() as cursor:
            params = {f"permission_{n}": pk for n, pk in enumerate(permission_ids)}
            self._execute(
                cursor,
                _GRANTS_INSERT,
                {"role": role, **params},
                permission_ids=", ".join(f"%({name})s" for name in params),
            )
            return [organization_id for (organization_id,) in cursor.fetchall()]


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


def role_grants_after_migrate(sender, *, apps=global_apps, using=DEFAULT_DB_ALIAS, **kwargs):
    """post_migrate: grants follow roles.py after every `migrate` (and a test database flush).

    Does nothing while the orgs tables are not there (e.g. after `migrate orgs zero`).
    """
    try:
        apps.get_model("orgs", "OrganizationGroupObjectPermission")
        apps.get_model("orgs", "RoleGroup")
    except LookupError:
        return
    change = role_grants_sync(apps=apps, using=using)
    if change.organizations_changed and kwargs.get("verbosity", 1) >= 1:
        print(f"  {change}")
