"""Every write to memberships: change a role, remove a member, leave an org.

Each takes a row lock on the organization first, so concurrent changes are serialized and
the "at least one Owner" rule is checked against committed state.
"""

from django.db import transaction

from members.models import Membership
from orgs import audit
from orgs.errors import ActionRefused
from orgs.models import Organization
from orgs.permissions import membership_permissions_sync, organization_permissions
from orgs.roles import Role, capability_needed_to_manage


def _lock_organization(organization: Organization) -> Organization:
    return Organization.objects.select_for_update().get(pk=organization.pk)


def _locked_membership(organization: Organization, membership_id: int) -> Membership:
    membership = (
        Membership.objects.select_related("user")
        .filter(organization=organization, pk=membership_id)
        .first()
    )
    if membership is None:
        raise ActionRefused("That person is no longer a member of this organization.")
    return membership


def _check_actor_may_manage(*, actor, organization: Organization, roles: list[str]) -> None:
    permissions = organization_permissions(actor, organization)
    for role in roles:
        needed = capability_needed_to_manage(role)
        if needed.value not in permissions:
            if Role(role) == Role.OWNER:
                raise ActionRefused("Only an Owner can grant, change or remove the Owner role.")
            raise ActionRefused("Your role does not allow changing members' roles.")


def _refuse_if_last_owner(organization: Organization, membership: Membership, doing: str):
    if membership.role != Role.OWNER:
        return
    owners = Membership.objects.filter(organization=organization, role=Role.OWNER).count()
    if owners <= 1:
        raise ActionRefused(
            f"An organization needs at least one Owner: make someone else Owner before {doing}."
        )


@transaction.atomic
def membership_add(*, organization: Organization, user, role: str) -> Membership:
    """Add a member (org creation, accepted invitation); the caller writes the audit entry."""
    membership = Membership.objects.create(user=user, organization=organization, role=Role(role))
    membership_permissions_sync(user=user, organization=organization, role=role)
    return membership


@transaction.atomic
def membership_change_role(
    *,
    organization: Organization,
    membership_id: int,
    role: str,
    actor,
    ip_address: str | None = None,
) -> Membership:
    organization = _lock_organization(organization)
    membership = _locked_membership(organization, membership_id)
    new_role = Role(role)
    if membership.user_id == actor.pk:
        raise ActionRefused("You cannot change your own role; ask another Owner or Admin.")
    _check_actor_may_manage(
        actor=actor, organization=organization, roles=[membership.role, new_role]
    )
    old_role = membership.role
    if old_role == new_role:
        return membership
    _refuse_if_last_owner(organization, membership, "demoting the last one")
    membership.role = new_role
    membership.save(update_fields=["role"])
    membership_permissions_sync(user=membership.user, organization=organization, role=new_role)
    audit.record(
        organization=organization,
        actor=actor,
        action="member.role_change",
        target=membership.user.email,
        ip_address=ip_address,
        details={"from": old_role, "to": new_role.value},
    )
    return membership


@transaction.atomic
def membership_remove(
    *, organization: Organization, membership_id: int, actor, ip_address: str | None = None
) -> None:
    organization = _lock_organization(organization)
    membership = _locked_membership(organization, membership_id)
    if membership.user_id == actor.pk:
        raise ActionRefused("To remove yourself, use Leave organization.")
    _check_actor_may_manage(actor=actor, organization=organization, roles=[membership.role])
    _refuse_if_last_owner(organization, membership, "removing the last one")
    _delete_membership(membership, organization)
    audit.record(
        organization=organization,
        actor=actor,
        action="member.remove",
        target=membership.user.email,
        ip_address=ip_address,
        details={"role": membership.role},
    )


@transaction.atomic
def membership_leave(*, organization: Organization, user, ip_address: str | None = None) -> None:
    organization = _lock_organization(organization)
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None:
        raise ActionRefused("You are not a member of this organization.")
    _refuse_if_last_owner(organization, membership, "leaving")
    _delete_membership(membership, organization)
    audit.record(
        organization=organization,
        actor=user,
        action="member.leave",
        target=user.email,
        ip_address=ip_address,
        details={"role": membership.role},
    )


def _delete_membership(membership: Membership, organization: Organization) -> None:
    membership_permissions_sync(user=membership.user, organization=organization, role=None)
    membership.delete()
