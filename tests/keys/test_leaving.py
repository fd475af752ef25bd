"""Leaving (or being removed from) an org ends "own key" rights there for good."""

from django.utils import timezone

from keys.models import VirtualKeyUserObjectPermission
from keys.permissions import actor_key_rights
from members.services import membership_leave, membership_remove
from orgs.models import Membership
from orgs.roles import Role
from orgs.services import membership_add
from prism_site.actor import Actor
from tests.keys.conftest import make_key


def test_a_member_who_leaves_and_rejoins_has_no_rights_on_their_old_keys(organization, member):
    issued = make_key(organization, member)
    assert actor_key_rights(member, issued.key, now=timezone.now()).rotate

    membership_leave(organization=organization, actor=Actor(member))
    membership_add(organization=organization, user=member, role=Role.MEMBER)

    rights = actor_key_rights(member, issued.key, now=timezone.now())
    assert not (rights.rotate or rights.revoke)


def test_removal_clears_own_key_rights_in_that_org_only(
    organization, other_organization, owner, member
):
    make_key(organization, member)
    membership_add(organization=other_organization, user=member, role=Role.MEMBER)
    elsewhere = make_key(other_organization, member, name="elsewhere")

    membership_remove(
        organization=organization,
        membership_id=Membership.objects.get(user=member, organization=organization).pk,
        actor=Actor(owner),
    )

    held = VirtualKeyUserObjectPermission.objects.filter(user=member)
    assert {row.content_object_id for row in held} == {elsewhere.key.pk}
