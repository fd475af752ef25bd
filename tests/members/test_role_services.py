"""The role services enforce every rule of SPEC §2, and guardian permissions follow the role."""

import pytest

from members.services import membership_change_role, membership_leave, membership_remove
from orgs.models import AuditEvent, Membership
from orgs.permissions import organization_permissions
from orgs.roles import ROLE_CAPABILITIES, Role
from prism_site.actor import Actor
from prism_site.errors import NotFound, Refused
from tests.factories import add_member


def membership_of(user, organization):
    return Membership.objects.get(user=user, organization=organization)


def change(organization, actor, target, role):
    return membership_change_role(
        organization=organization,
        membership_id=membership_of(target, organization).pk,
        role=role,
        actor=Actor(actor),
    )


@pytest.mark.parametrize("role", list(Role))
def test_guardian_permissions_are_exactly_the_roles_capabilities(organization, role):
    user = add_member(organization, role)
    assert organization_permissions(user, organization) == {
        capability.value for capability in ROLE_CAPABILITIES[role]
    }


def test_role_change_rederives_permissions_and_is_audited(organization, owner, member):
    change(organization, owner, member, Role.ADMIN)
    assert membership_of(member, organization).role == Role.ADMIN
    assert organization_permissions(member, organization) == {
        c.value for c in ROLE_CAPABILITIES[Role.ADMIN]
    }
    event = AuditEvent.objects.filter(action="member.role_change").get()
    assert (event.actor, event.target, event.details) == (
        owner,
        member.email,
        {"from": "member", "to": "admin"},
    )


def test_permissions_in_one_org_grant_nothing_in_another(organization, other_organization, owner):
    assert organization_permissions(owner, other_organization) == frozenset()


@pytest.mark.parametrize("actor_role", list(Role))
def test_nobody_changes_their_own_role(organization, actor_role, owner):
    actor = owner if actor_role == Role.OWNER else add_member(organization, actor_role)
    add_member(organization, Role.OWNER)  # so the last-owner rule is not what refuses
    with pytest.raises(Refused, match="your own role"):
        change(organization, actor, actor, Role.VIEWER)


def test_admin_cannot_grant_owner(organization, admin, member):
    with pytest.raises(Refused, match="Only an Owner"):
        change(organization, admin, member, Role.OWNER)
    assert membership_of(member, organization).role == Role.MEMBER


def test_admin_cannot_demote_or_remove_an_owner(organization, admin, owner):
    with pytest.raises(Refused, match="Only an Owner"):
        change(organization, admin, owner, Role.MEMBER)
    with pytest.raises(Refused, match="Only an Owner"):
        membership_remove(
            organization=organization,
            membership_id=membership_of(owner, organization).pk,
            actor=Actor(admin),
        )
    assert membership_of(owner, organization).role == Role.OWNER


def test_admin_manages_admins_members_and_viewers(organization, admin, member, viewer):
    other_admin = add_member(organization, Role.ADMIN)
    change(organization, admin, member, Role.VIEWER)
    change(organization, admin, viewer, Role.ADMIN)
    change(organization, admin, other_admin, Role.MEMBER)
    assert [membership_of(u, organization).role for u in (member, viewer, other_admin)] == [
        Role.VIEWER,
        Role.ADMIN,
        Role.MEMBER,
    ]


@pytest.mark.parametrize("actor_role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_manage_nobody(organization, actor_role):
    actor = add_member(organization, actor_role)
    target = add_member(organization, Role.VIEWER)
    with pytest.raises(Refused):
        change(organization, actor, target, Role.MEMBER)
    with pytest.raises(Refused):
        membership_remove(
            organization=organization,
            membership_id=membership_of(target, organization).pk,
            actor=Actor(actor),
        )


def test_outsider_cannot_touch_members(organization, outsider, member):
    with pytest.raises(Refused):
        change(organization, outsider, member, Role.VIEWER)


def test_last_owner_cannot_leave(organization, owner):
    with pytest.raises(Refused, match="at least one Owner"):
        membership_leave(organization=organization, actor=Actor(owner))
    assert membership_of(owner, organization).role == Role.OWNER


def test_last_owner_cannot_be_demoted_or_removed_even_by_a_second_owner_who_left(
    organization, owner
):
    co_owner = add_member(organization, Role.OWNER)
    change(organization, owner, co_owner, Role.ADMIN)  # two owners → one
    with pytest.raises(Refused, match="at least one Owner"):
        membership_leave(organization=organization, actor=Actor(owner))


def test_ownership_handover(organization, owner, admin):
    change(organization, owner, admin, Role.OWNER)
    # The new Owner steps the old one down; the org still has exactly one Owner.
    change(organization, admin, owner, Role.MEMBER)
    owners = Membership.objects.filter(organization=organization, role=Role.OWNER)
    assert list(owners.values_list("user", flat=True)) == [admin.pk]


def test_owner_may_leave_when_another_owner_remains(organization, owner):
    add_member(organization, Role.OWNER)
    membership_leave(organization=organization, actor=Actor(owner))
    assert not Membership.objects.filter(organization=organization, user=owner).exists()
    assert organization_permissions(owner, organization) == frozenset()
    assert AuditEvent.objects.filter(action="member.leave", target=owner.email).exists()


def test_removed_member_loses_every_permission(organization, owner, admin):
    membership_remove(
        organization=organization,
        membership_id=membership_of(admin, organization).pk,
        actor=Actor(owner),
    )
    assert organization_permissions(admin, organization) == frozenset()
    assert AuditEvent.objects.filter(action="member.remove", target=admin.email).exists()


def test_remove_yourself_points_to_leave(organization, owner):
    add_member(organization, Role.OWNER)
    with pytest.raises(Refused, match="Leave"):
        membership_remove(
            organization=organization,
            membership_id=membership_of(owner, organization).pk,
            actor=Actor(owner),
        )


def test_membership_of_another_org_cannot_be_targeted(organization, other_organization, owner):
    stranger = add_member(other_organization, Role.MEMBER)
    with pytest.raises(NotFound, match="not a member of this organization"):
        membership_change_role(
            organization=organization,
            membership_id=membership_of(stranger, other_organization).pk,
            role=Role.VIEWER,
            actor=Actor(owner),
        )
    assert membership_of(stranger, other_organization).role == Role.MEMBER
