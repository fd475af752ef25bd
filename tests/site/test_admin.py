"""The Django admin: staff only, read-only where the services own the writes."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from members.models import Membership, User
from orgs.models import AuditEvent, Organization


@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_superuser("root@example.test", "x-long-password-1"))
    return client


def test_non_staff_owner_is_sent_to_the_admin_login(client, owner, organization):
    client.force_login(owner)
    response = client.get(reverse("admin:orgs_organization_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_can_read_organizations_memberships_and_audit(staff_client, organization, member):
    membership = Membership.objects.get(user=member)
    for url in (
        reverse("admin:orgs_organization_change", args=[organization.pk]),
        reverse("admin:members_membership_change", args=[membership.pk]),
        reverse("admin:orgs_auditevent_changelist"),
        reverse("admin:members_user_change", args=[member.pk]),
    ):
        assert staff_client.get(url).status_code == 200, url


def test_staff_cannot_rewrite_roles_orgs_or_the_audit_log(staff_client, organization, member):
    membership = Membership.objects.get(user=member)
    staff_client.post(
        reverse("admin:members_membership_change", args=[membership.pk]), {"role": "owner"}
    )
    assert Membership.objects.get(pk=membership.pk).role == "member"
    staff_client.post(
        reverse("admin:orgs_organization_change", args=[organization.pk]), {"name": "Hijacked"}
    )
    assert Organization.objects.get(pk=organization.pk).name == "Acme AI"
    event = AuditEvent.objects.filter(organization=organization).first()
    assert (
        staff_client.post(
            reverse("admin:orgs_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert (
        staff_client.post(
            reverse("admin:members_membership_delete", args=[membership.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    user_form = staff_client.get(reverse("admin:members_user_change", args=[member.pk]))
    assert 'name="groups"' not in user_form.content.decode()


def test_staff_delete_goes_through_the_service(staff_client, organization):
    groups = Group.objects.filter(role_group__organization=organization)
    assert groups.count() == 4
    staff_client.post(
        reverse("admin:orgs_organization_delete", args=[organization.pk]), {"post": "yes"}
    )
    assert not Organization.objects.filter(pk=organization.pk).exists()
    assert not Group.objects.filter(name__startswith=f"org-{organization.pk}-").exists()
