"""Bring every organization's role grants to the role matrix of this release.

Self-contained on purpose (historical models, the matrix copied as it stood): later code may
change orgs/roles.py and orgs/permissions.py. After every migrate, the post_migrate handler in
orgs/apps.py brings grants to the current orgs/roles.py.
"""

from django.db import migrations
from django.db.models import Exists, F, OuterRef

_EVERYONE = {"view_overview", "view_members"}
_MEMBER = _EVERYONE | {"view_config", "create_keys"}
_ADMIN = _MEMBER | {"manage_keys", "change_config", "manage_members", "view_audit"}
_OWNER = _ADMIN | {"manage_owners", "manage_organization"}
ROLE_GRANTS = {"owner": _OWNER, "admin": _ADMIN, "member": _MEMBER, "viewer": _EVERYONE}


def role_grants_sync(apps, schema_editor):
    using = schema_editor.connection.alias
    Organization = apps.get_model("orgs", "Organization")
    RoleGroup = apps.get_model("orgs", "RoleGroup")
    Grant = apps.get_model("orgs", "OrganizationGroupObjectPermission")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    organizations = Organization.objects.using(using)
    if not organizations.exists():
        return
    content_type, _ = ContentType.objects.using(using).get_or_create(
        app_label="orgs", model="organization"
    )
    names = dict(Organization._meta.permissions)
    permissions = Permission.objects.using(using).filter(content_type=content_type)
    existing = set(permissions.values_list("codename", flat=True))
    Permission.objects.using(using).bulk_create(
        Permission(content_type=content_type, codename=codename, name=name)
        for codename, name in names.items()
        if codename not in existing
    )
    permission_ids = dict(permissions.values_list("codename", "pk"))
    role_groups = RoleGroup.objects.using(using)

    for role, codenames in ROLE_GRANTS.items():
        lacking = list(
            organizations.exclude(
                pk__in=role_groups.filter(role=role).values("organization_id")
            ).values_list("pk", flat=True)
        )
        if lacking:
            group_names = [f"org-{pk}-{role}" for pk in lacking]
            # A group left behind by a lost role group is not reused (nobody re-checked its users).
            Group.objects.using(using).filter(
                name__in=group_names, role_group__isnull=True
            ).delete()
            groups = Group.objects.using(using).bulk_create(Group(name=n) for n in group_names)
            role_groups.bulk_create(
                RoleGroup(organization_id=pk, role=role, group_id=group.pk)
                for pk, group in zip(lacking, groups, strict=True)
            )

        wanted = [permission_ids[codename] for codename in sorted(codenames)]
        for permission_id in wanted:
            held = Grant.objects.using(using).filter(
                group_id=OuterRef("group_id"),
                permission_id=permission_id,
                content_object_id=OuterRef("organization_id"),
            )
            Grant.objects.using(using).bulk_create(
                Grant(group_id=group_id, permission_id=permission_id, content_object_id=org_id)
                for group_id, org_id in role_groups.filter(role=role)
                .filter(~Exists(held))
                .values_list("group_id", "organization_id")
            )
        Grant.objects.using(using).filter(group__role_group__role=role).exclude(
            permission_id__in=wanted, content_object_id=F("group__role_group__organization_id")
        ).delete()

    Grant.objects.using(using).filter(group__role_group__isnull=False).exclude(
        group__role_group__role__in=ROLE_GRANTS
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_config_versions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(role_grants_sync, migrations.RunPython.noop, elidable=True),
    ]
