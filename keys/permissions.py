"""Who may do what to a key: org capabilities plus the creator's guardian object permissions.

Object permissions are read straight from `VirtualKeyUserObjectPermission` (no superuser or
global-permission shortcuts), and only count while the holder's role still has
`create_keys`: a creator demoted to Viewer loses "own key" rights on the very next request.
An admin-scoped key acts with its creator's current role, so someone else may take its secret
(rotate) only when their own role holds everything the creator's does.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from keys.models import KeyPermission, KeyStatus, Scope, VirtualKey, VirtualKeyUserObjectPermission
from orgs.models import OrganizationGroupObjectPermission
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


def own_key_rights_revoke(*, user, organization) -> None:
    """Someone leaving an org loses "own key" rights there, so rejoining later restores none."""
    VirtualKeyUserObjectPermission.objects.filter(
        user=user, content_object__organization=organization
    ).delete()


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


def creators_capabilities(user, keys: Iterable[VirtualKey]) -> dict[int, frozenset[str]]:
    """{creator pk: capabilities held now in the org} for the creators of the admin-scoped keys
    among `keys` (all of one org) that `user` did not create; one query, none if there are none.

    Reads the same guardian table as `orgs.permissions.organization_permissions`, for several
    users at once; a creator who has left the org maps to no capabilities.
    """
    wanted = {
        (key.organization_id, key.created_by_id)
        for key in keys
        if Scope.ADMIN.value in (key.scopes or [])
        and key.created_by_id is not None
        and key.created_by_id != getattr(user, "pk", None)
    }
    if not wanted:
        return {}
    (organization_id,) = {organization_id for organization_id, _ in wanted}
    held: dict[int, set[str]] = {creator_id: set() for _, creator_id in wanted}
    rows = OrganizationGroupObjectPermission.objects.filter(
        content_object_id=organization_id, group__user__in=held
    ).values_list("group__user", "permission__codename")
    for creator_id, codename in rows:
        held[creator_id].add(codename)
    return {creator_id: frozenset(codenames) for creator_id, codenames in held.items()}


def covers_creator_role(
    key: VirtualKey,
    *,
    user,
    capabilities: frozenset[str],
    creator_capabilities: frozenset[str] | None,
) -> bool:
    """Whether `user` may hand this key its creator's role: they are the creator, or their own
    capabilities include every one the creator holds now (None, not looked up: refuse)."""
    if key.created_by_id is not None and key.created_by_id == getattr(user, "pk", None):
        return True
    return creator_capabilities is not None and creator_capabilities <= capabilities


def key_rights(
    key: VirtualKey,
    *,
    user,
    capabilities: frozenset[str],
    own: frozenset[str],
    creators: Mapping[int, frozenset[str]],
    now,
) -> KeyRights:
    """`creators` comes from `creators_capabilities(user, keys)` for the same keys."""
    status = key.status_at(now)
    if status == KeyStatus.REVOKED:
        return KeyRights()
    manage_any = Capability.MANAGE_KEYS.value in capabilities
    own_rights = Capability.CREATE_KEYS.value in capabilities
    # Rotating hands the actor a working secret; revoking only takes power away.
    takes_creator_role = Scope.ADMIN.value in (key.scopes or []) and key.created_by_id is not None
    return KeyRights(
        edit=manage_any,
        # An expired key's secret cannot be used anyway; extend its expiry first.
        rotate=status == KeyStatus.ACTIVE
        and (manage_any or (own_rights and KeyPermission.ROTATE.value in own))
        and (
            not takes_creator_role
            or covers_creator_role(
                key,
                user=user,
                capabilities=capabilities,
                creator_capabilities=creators.get(key.created_by_id),
            )
        ),
        revoke=manage_any or (own_rights and KeyPermission.REVOKE.value in own),
    )


def actor_key_rights(actor, key: VirtualKey, *, now) -> KeyRights:
    """Rights of `actor` on one key, read from the database (services re-check with this)."""
    return key_rights(
        key,
        user=actor,
        capabilities=organization_permissions(actor, key.organization),
        own=own_key_permissions(actor, [key]).get(key.pk, frozenset()),
        creators=creators_capabilities(actor, [key]),
        now=now,
    )


def may_grant_admin_scope(capabilities: frozenset[str]) -> bool:
    """The admin scope acts with its creator's role, so only a role that manages keys and
    config may hold or hand it out (a Member could not use it for anything but reading)."""
    return {Capability.MANAGE_KEYS.value, Capability.CHANGE_CONFIG.value} <= capabilities


def admin_scope_capabilities(key: VirtualKey) -> frozenset[str]:
    """What an admin-scoped key may do in the admin API: its creator's current capabilities
    in the key's org (none once the creator has left or the key lacks the scope)."""
    if Scope.ADMIN.value not in (key.scopes or []):
        return frozenset()
    return creator_capabilities(key)


def creator_capabilities(key: VirtualKey) -> frozenset[str]:
    """The key creator's current capabilities in the key's org (none once they have left)."""
    if key.created_by_id is None:
        return frozenset()
    return organization_permissions(key.created_by, key.organization)
