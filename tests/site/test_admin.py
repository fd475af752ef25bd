"""The Django admin: staff only, read-only where the services own the writes."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from members.models import LoginThrottle, User
from orgs.models import AuditEvent, Membership, Organization
from tests.factories import PASSWORD


@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_superuser("root@example.test", "x-long-password-1"))
    return client


NOT_STAFF = "The Django admin is for staff accounts"


def test_non_staff_owner_is_refused_with_a_reason_not_a_redirect_loop(client, owner, organization):
    client.force_login(owner)
    for url in (
        reverse("admin:orgs_organization_changelist"),
        reverse("admin:index"),
        reverse("admin:login") + "?next=/admin/",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert NOT_STAFF in response.content.decode()
    # The site's sign-in page sends a signed-in person on to /admin/, which refuses: no loop.
    response = client.get(reverse("accounts:login") + "?next=/admin/", follow=True)
    assert response.status_code == 403 and len(response.redirect_chain) == 1


def test_the_admin_signs_in_through_the_site_sign_in_page(client, db):
    response = client.get(reverse("admin:orgs_organization_changelist"), follow=True)
    assert response.redirect_chain[-1][0] == (
        reverse("accounts:login") + "?next=/admin/orgs/organization/"
    )
    assert "Sign in to Prism" in response.content.decode()
    # Unsafe targets are dropped on the way.
    response = client.get(reverse("admin:login") + "?next=https://evil.example/")
    assert response["Location"] == reverse("accounts:login") + "?next=/admin/"


def test_staff_reach_the_admin_after_the_site_sign_in(client, db):
    User.objects.create_superuser("root@example.test", PASSWORD)
    form_url = sign_in_form_of_the_admin(client)
    response = client.post(
        form_url, {"username": "root@example.test", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/admin/"
    assert response.status_code == 200 and "Site administration" in response.content.decode()
    # Signed in, the admin's sign-in URL goes straight on.
    response = client.get(reverse("admin:login") + "?next=/admin/members/user/")
    assert response["Location"] == "/admin/members/user/"


def sign_in_form_of_the_admin(client) -> str:
    """Where /admin/login/ sends a person to type their password."""
    response = client.get(reverse("admin:login") + "?next=/admin/", follow=True)
    if response.redirect_chain:
        return response.redirect_chain[-1][0]
    return response.wsgi_request.get_full_path()


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_twenty_wrong_passwords_through_the_admin_sign_in_lock_it(client, db):
    User.objects.create_superuser("root@example.test", PASSWORD)
    form_url = sign_in_form_of_the_admin(client)
    for _ in range(20):
        client.post(form_url, {"username": "root@example.test", "password": "wrong-guess"})
        assert not signed_in(client)
    response = client.post(form_url, {"username": "root@example.test", "password": PASSWORD})
    assert not signed_in(client)
    assert "Too many failed sign-ins" in response.content.decode()
    # Nor does the admin's own sign-in URL take the password past the lock.
    client.post(
        reverse("admin:login") + "?next=/admin/",
        {"username": "root@example.test", "password": PASSWORD},
    )
    assert not signed_in(client)
    assert client.get(reverse("admin:index")).status_code == 302


def test_a_pair_locked_on_the_site_cannot_sign_in_through_the_admin(client, db, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    User.objects.create_superuser("root@example.test", PASSWORD)
    for _ in range(5):
        client.post(
            reverse("accounts:login"), {"username": "root@example.test", "password": "guess"}
        )
    assert LoginThrottle.objects.get().locked_until is not None
    response = client.post(
        reverse("admin:login") + "?next=/admin/",
        {"username": "root@example.test", "password": PASSWORD},
        follow=True,
    )
    assert not signed_in(client)
    assert response.status_code == 200 and "Sign in to Prism" in response.content.decode()


def test_staff_can_read_organizations_memberships_and_audit(staff_client, organization, member):
    membership = Membership.objects.get(user=member)
    for url in (
        reverse("admin:orgs_organization_change", args=[organization.pk]),
        reverse("admin:orgs_membership_change", args=[membership.pk]),
        reverse("admin:orgs_auditevent_changelist"),
        reverse("admin:members_user_change", args=[member.pk]),
    ):
        assert staff_client.get(url).status_code == 200, url


def test_staff_cannot_rewrite_roles_orgs_or_the_audit_log(staff_client, organization, member):
    membership = Membership.objects.get(user=member)
    staff_client.post(
        reverse("admin:orgs_membership_change", args=[membership.pk]), {"role": "owner"}
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
            reverse("admin:orgs_membership_delete", args=[membership.pk]), {"post": "yes"}
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
