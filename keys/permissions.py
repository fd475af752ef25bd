"""Who may do what to a key: org capabilities plus the creator's guardian object permissions.

Object permissions are read straight from `VirtualKeyUserObjectPermission` (no superuser or
global-permission shortcuts), and only count while the holder's role still has
`create_keys`: a creator demoted to Viewer loses "own key" rights on the very next request.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from keys.models import KeyPermission, KeyStatus, Scope, VirtualKey, VirtualKeyUserObjectPermission
from orgs.permissions import organization_permissions
from orgs.roles import Capability


@dataclass(frozen=True)
class KeyRights:
    edit: bool = False
    rotate: bool = False
    revoke: bool = False

    @property
    def any(self) -> bool:
        return self.edit or self.rotate or self.revoke


def creator_rights_grant(key: VirtualKey, user) -> None:
    """Give the key's creator "own key" rights; callers run this in the creating transaction."""
    permissions = Permission.objects.filter(
        content_type=ContentType.objects.get_for_model(VirtualKey),
        codename__in=[permission.value for permission in KeyPermission],
    )
    VirtualKeyUserObjectPermission.objects.bulk_create(
        [
            VirtualKeyUserObjectPermission(user=user, permission=permission, content_object=key)
            for permission in permissions
        ]
    )


def own_key_permissions(user, keys: Iterable[VirtualKey]) -> dict[int, frozenset[str]]:
    """{key pk: codenames the user holds on it} for the given keys, in one query."""
    key_ids = [key.pk for key in keys]
    held: dict[int, set[str]] = {}
    if not key_ids or not getattr(user, "pk", None):
        return {}
    rows = VirtualKeyUserObjectPermission.objects.filter(
        user=user, content_object_id__in=key_ids
    ).values_list("content_object_id", "permission__codename")
    for key_id, codename in rows:
        held.setdefault(key_id, set()).add(codename)
    return {key_id: frozenset(codenames) for key_id, codenames in held.items()}


def key_rights(
    key: VirtualKey, *, capabilities: frozenset[str], own: frozenset[str], now
) -> KeyRights:
    status = key.status_at(now)
    if status == KeyStatus.REVOKED:
        return KeyRights()
    manage_any = Capability.MANAGE_KEYS.value in capabilities
    own_rights = Capability.CREATE_KEYS.value in capabilities
    return KeyRights(
        edit=manage_any,
        # An expired key's secret cannot be used anyway; extend its expiry first.
        rotate=status == KeyStatus.ACTIVE
        and (manage_any or (own_rights and KeyPermission.ROTATE.value in own)),
        revoke=manage_any or (own_rights and KeyPermission.REVOKE.value in own),
    )


def actor_key_rights(actor, key: VirtualKey, *, now) -> KeyRights:
    """Rights of `actor` on one key, read from the database (services re-check with this)."""
    return key_rights(
        key,
        capabilities=organization_permissions(actor, key.organization),
        own=own_key_permissions(actor, [key]).get(key.pk, frozenset()),
        now=now,
    )


def may_grant_admin_scope(capabilities: frozenset[str]) -> bool:
    """The admin scope acts with its creator's role, so only a role that manages keys and
    config may hold or hand it out (a Member could not use it for anything but reading)."""
    return {Capability.MANAGE_KEYS.value, Capability.CHANGE_CONFIG.value} <= capabilities


def admin_scope_capabilities(key: VirtualKey) -> frozenset[str]:
    """What an admin-scoped key may do in the admin API: its creator's current capabilities
    in the key's org (none once the creator has left or the key lacks the scope)."""
    if Scope.ADMIN.value not in (key.scopes or []) or key.created_by_id is None:
        return frozenset()
    return organization_permissions(key.created_by, key.organization)
