"""What a member may do to a key: one rule, `key_rights`, and the reads that feed it.

The rule reads the member's org capabilities (their role now) and the creator's guardian object
permissions, read straight from `VirtualKeyUserObjectPermission` (no superuser or
global-permission shortcuts). "Own key" rights count only while the holder's role still has
`create_keys`: a creator demoted to Viewer loses them on the very next request. An
admin-scoped key acts with its creator's current role, so someone else may take its secret
(rotate) or hand a key that scope only when their own role holds everything the creator's does.

Pages, inventory rows and the services all ask `key_rights` (through `member_key_rights` for
several keys, `actor_key_rights` for one); the refusal reasons are the words people see.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from keys.models import KeyPermission, KeyStatus, Scope, VirtualKey, VirtualKeyUserObjectPermission
from orgs.models import OrganizationGroupObjectPermission
from orgs.permissions import organization_permissions
from orgs.roles import Capability

# The actions `KeyRights.refusal` explains.
CREATE, EDIT, ROTATE, REVOKE, GRANT_ADMIN_SCOPE = (
    "create",
    "edit",
    "rotate",
    "revoke",
    "grant_admin_scope",
)


@dataclass(frozen=True)
class KeyRights:
    """What one member may do to one key (or, for no key, to a key they are about to create).

    `grant_admin_scope` is whether they may add the admin scope to it; None when it was not
    worked out (inventory rows do not offer it, so they do not look up every creator's role).
    """

    view: bool = False
    create: bool = False
    edit: bool = False
    rotate: bool = False
    revoke: bool = False
    grant_admin_scope: bool | None = False
    refusals: Mapping[str, str] = field(default_factory=dict)

    def refusal(self, action: str) -> str:
        """Why `action` is refused, in the words the page and the API show ("" if allowed)."""
        return self.refusals.get(action, "")


def _may_hold_admin_scope(capabilities: frozenset[str]) -> bool:
    """The admin scope acts with its creator's role, so only a role that manages keys and
    config may hold or hand it out (a Member could not use it for anything but reading)."""
    return {Capability.MANAGE_KEYS.value, Capability.CHANGE_CONFIG.value} <= capabilities


def key_rights(
    key: VirtualKey | None,
    *,
    user,
    capabilities: frozenset[str],
    own: frozenset[str] = frozenset(),
    creator_capabilities: frozenset[str] | None = None,
    now: datetime,
) -> KeyRights:
    """What `user`, whose role in the key's org holds `capabilities`, may do to `key` at `now`.

    `own`: the key permissions the user holds on this key (`own_key_permissions`).
    `creator_capabilities`: what the key's creator's role holds now (empty once they have left);
    None when not looked up, which refuses whatever depends on it.
    """
    refusals: dict[str, str] = {}
    view = Capability.VIEW_CONFIG.value in capabilities
    create = Capability.CREATE_KEYS.value in capabilities
    if not create:
        refusals[CREATE] = "Your role cannot create API keys; ask a Member, Admin or Owner."
    may_hold_admin_scope = _may_hold_admin_scope(capabilities)
    if key is None:
        if not may_hold_admin_scope:
            refusals[GRANT_ADMIN_SCOPE] = (
                "the admin scope acts with its creator's role, and yours cannot change config "
                "or manage keys; use the gateway scope, or ask an Admin or Owner."
            )
        return KeyRights(
            view=view, create=create, grant_admin_scope=may_hold_admin_scope, refusals=refusals
        )

    status = key.status_at(now)
    manage_any = Capability.MANAGE_KEYS.value in capabilities
    is_creator = key.created_by_id is not None and key.created_by_id == getattr(user, "pk", None)
    if is_creator:
        creator_capabilities = capabilities
    elif key.created_by_id is None:
        creator_capabilities = frozenset()  # a deleted account holds no role
    # Whether the user's role holds everything the creator's does (a creator covers themself).
    covers_creator = creator_capabilities is not None and creator_capabilities <= capabilities
    # Rotating hands the actor a working secret; revoking only takes power away.
    rotation_takes_creator_role = Scope.ADMIN.value in (key.scopes or []) and not is_creator

    edit = status != KeyStatus.REVOKED and manage_any
    if status == KeyStatus.REVOKED:
        refusals[EDIT] = "This key is revoked; revoked keys cannot be edited."
    elif not manage_any:
        refusals[EDIT] = "Only Admins and Owners can edit keys."

    may_rotate_any = manage_any or (create and KeyPermission.ROTATE.value in own)
    rotate = False
    if status == KeyStatus.REVOKED:
        refusals[ROTATE] = "This key is already revoked; there is nothing left to rotate."
    elif status == KeyStatus.EXPIRED:
        # An expired key's secret cannot be used anyway; extend its expiry first.
        refusals[ROTATE] = (
            "This key has expired; an Admin can extend its expiry before it is rotated."
        )
    elif not may_rotate_any:
        refusals[ROTATE] = (
            "You can rotate only keys you created; Admins and Owners can rotate any key."
        )
    elif rotation_takes_creator_role and not covers_creator:
        refusals[ROTATE] = (
            "This key has the admin scope, so it acts with its creator's role, which can do more "
            "than yours; ask its creator or an Owner to rotate it, or revoke it."
        )
    else:
        rotate = True

    revoke = status != KeyStatus.REVOKED and (
        manage_any or (create and KeyPermission.REVOKE.value in own)
    )
    if status == KeyStatus.REVOKED:
        refusals[REVOKE] = "This key is already revoked; there is nothing left to revoke."
    elif not revoke:
        refusals[REVOKE] = (
            "You can revoke only keys you created; Admins and Owners can revoke any key."
        )

    grant_admin_scope: bool | None = False
    if not may_hold_admin_scope:
        refusals[GRANT_ADMIN_SCOPE] = (
            "the admin scope acts with its creator's role, and yours cannot change config or "
            "manage keys; use the gateway scope, or ask an Admin or Owner."
        )
    elif creator_capabilities is None:
        grant_admin_scope = None
    elif not _may_hold_admin_scope(creator_capabilities):
        refusals[GRANT_ADMIN_SCOPE] = (
            "the admin scope acts with this key's creator's role, which cannot change config "
            "or manage keys; create a new key of your own instead."
        )
    elif not covers_creator:
        refusals[GRANT_ADMIN_SCOPE] = (
            "the admin scope acts with this key's creator's role, which can do more than "
            "yours; ask the creator or an Owner to add it, or create a new key of your own."
        )
    else:
        grant_admin_scope = True

    return KeyRights(
        view=view,
        create=create,
        edit=edit,
        rotate=rotate,
        revoke=revoke,
        grant_admin_scope=grant_admin_scope,
        refusals=refusals,
    )


def member_key_rights(
    user,
    keys: Iterable[VirtualKey],
    *,
    capabilities: frozenset[str],
    now: datetime,
    with_admin_scope_grant: bool = False,
) -> dict[int, KeyRights]:
    """{key pk: rights} of one member on keys of one org, whose role holds `capabilities`.

    One query for their own-key rights, and one more for the creators' roles when some key's
    rights depend on them: admin-scoped keys of others (rotation), and with
    `with_admin_scope_grant` every key of others (adding the admin scope).
    """
    keys = list(keys)
    own = own_key_permissions(user, keys)
    user_id = getattr(user, "pk", None)
    others = [key for key in keys if key.created_by_id not in (None, user_id)]
    needing_creator = (
        others
        if with_admin_scope_grant
        else [key for key in others if Scope.ADMIN.value in (key.scopes or [])]
    )
    creators = _creators_capabilities(needing_creator)
    return {
        key.pk: key_rights(
            key,
            user=user,
            capabilities=capabilities,
            own=own.get(key.pk, frozenset()),
            creator_capabilities=creators.get(key.created_by_id),
            now=now,
        )
        for key in keys
    }


def actor_key_rights(user, key: VirtualKey | None, *, now: datetime, organization=None):
    """Rights of `user` on one key (or a new key of `organization`), every input read from the
    database: the services' authoritative check before each write."""
    organization = organization if key is None else key.organization
    capabilities = organization_permissions(user, organization)
    if key is None:
        return key_rights(None, user=user, capabilities=capabilities, now=now)
    return member_key_rights(
        user, [key], capabilities=capabilities, now=now, with_admin_scope_grant=True
    )[key.pk]


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


def _creators_capabilities(keys: list[VirtualKey]) -> dict[int, frozenset[str]]:
    """{creator pk: capabilities held now in the org} for the creators of `keys` (all of one
    org); one query, none if there are no keys.

    Reads the same guardian table as `orgs.permissions.organization_permissions`, for several
    users at once; a creator who has left the org maps to no capabilities.
    """
    wanted = {(key.organization_id, key.created_by_id) for key in keys}
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


def admin_scope_capabilities(key: VirtualKey) -> frozenset[str]:
    """What an admin-scoped key may do in the admin API: its creator's current capabilities
    in the key's org (none once the creator has left or the key lacks the scope).

    Owned by the admin API's key authentication (a key acts with its creator's current role);
    nothing calls it until that API lands, and `tests/keys/test_services.py` pins its rule.
    """
    if Scope.ADMIN.value not in (key.scopes or []) or key.created_by_id is None:
        return frozenset()
    return organization_permissions(key.created_by, key.organization)
