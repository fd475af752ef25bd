"""Creating, listing, switching, renaming and deleting organizations through the pages."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from orgs.models import AuditEvent, Membership, Organization, OrganizationGroupObjectPermission
from orgs.roles import Role
from prism_site.actor import Actor
from tests.factories import add_member, make_organization, make_user


def test_creator_becomes_owner_and_lands_on_the_overview(client, owner):
    client.force_login(owner)
    response = client.post(reverse("org_new"), {"name": "Blue Skies"}, follow=True)
    organization = Organization.objects.get(name="Blue Skies")
    assert response.redirect_chain[-1][0] == f"/o/{organization.slug}/"
    assert Membership.objects.get(organization=organization, user=owner).role == Role.OWNER
    page = response.content.decode()
    assert "Your role: <strong>Owner</strong>" in page
    assert "1 member" in page
    assert AuditEvent.objects.filter(
        organization=organization, action="organization.create"
    ).exists()


def test_blank_name_is_refused_with_the_field_named(client, owner):
    client.force_login(owner)
    response = client.post(reverse("org_new"), {"name": "   "})
    assert response.status_code == 200
    assert (
        "name:" in response.content.decode()
        or "This field is required" in response.content.decode()
    )
    assert not Organization.objects.exclude(name="").filter(memberships__user=owner).exists()


def test_slugs_stay_unique(owner):
    first = make_organization("Same Name", owner=owner)
    second = make_organization("Same Name", owner=owner)
    reserved = make_organization("New", owner=owner)
    assert first.slug == "same-name" and second.slug == "same-name-2"
    assert reserved.slug != "new"


def test_home_goes_to_the_last_org_visited(client, owner, organization):
    second = make_organization("Second", owner=owner)
    client.force_login(owner)
    assert client.get(reverse("home")).status_code == 200  # no last org yet: the list
    client.get(reverse("orgs:overview", args=[second.slug]))
    assert client.get(reverse("home"))["Location"] == f"/o/{second.slug}/"


def test_home_forgets_an_org_you_left(client, owner, organization, admin):
    client.force_login(admin)
    client.get(reverse("orgs:overview", args=[organization.slug]))
    Membership.objects.filter(user=admin).delete()
    assert client.get(reverse("home")).status_code == 200


def test_first_sign_in_with_one_org_lands_in_it_unless_next_says_otherwise(client, organization):
    ada = make_user("ada@example.test", password="a-long-enough-password")
    add_member(organization, Role.MEMBER, ada)
    login = reverse("accounts:login")
    credentials = {"username": "ada@example.test", "password": "a-long-enough-password"}
    response = client.post(login, credentials, follow=True)
    assert response.redirect_chain[-1][0] == f"/o/{organization.slug}/"
    assert "Acme AI" in response.content.decode()

    client.logout()
    keys = reverse("keys:list", args=[organization.slug])
    response = client.post(f"{login}?next={keys}", credentials)
    assert response["Location"] == keys


def test_first_sign_in_with_two_orgs_lands_on_the_list(client, owner, organization):
    make_organization("Second", owner=owner)
    client.force_login(owner)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "Second" in response.content.decode() and "Acme AI" in response.content.decode()


def test_switcher_lists_only_my_orgs_on_every_page(client, owner, organization, other_organization):
    client.force_login(owner)
    page = client.get(reverse("orgs:overview", args=[organization.slug])).content.decode()
    assert "Acme AI" in page and "Other Corp" not in page
    assert "+ New organization" in page


def test_owner_renames_in_place_with_htmx(client, owner, organization):
    client.force_login(owner)
    url = reverse("orgs:settings", args=[organization.slug])
    form = client.get(url, {"edit": "general"}, headers={"HX-Request": "true"})
    assert 'name="name"' in form.content.decode() and "<html" not in form.content.decode()
    response = client.post(
        reverse("orgs:rename", args=[organization.slug]),
        {"name": "Acme Labs"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and response["HX-Redirect"] == url
    organization.refresh_from_db()
    assert organization.name == "Acme Labs"
    event = AuditEvent.objects.get(action="organization.rename")
    assert event.details == {"from": "Acme AI", "to": "Acme Labs"}


def test_rename_error_is_shown_next_to_the_field_and_nothing_changes(client, owner, organization):
    client.force_login(owner)
    response = client.post(
        reverse("orgs:rename", args=[organization.slug]),
        {"name": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    organization.refresh_from_db()
    assert organization.name == "Acme AI"


def test_rename_without_javascript_redirects_with_a_message(client, owner, organization):
    client.force_login(owner)
    response = client.post(
        reverse("orgs:rename", args=[organization.slug]), {"name": "Plain"}, follow=True
    )
    assert "Renamed to Plain." in response.content.decode()


def test_admin_is_refused_rename_with_a_visible_message(client, admin, organization):
    client.force_login(admin)
    response = client.post(
        reverse("orgs:rename", args=[organization.slug]),
        {"name": "Hijack"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    assert "Admins can't rename the org" in response["HX-Trigger"]
    organization.refresh_from_db()
    assert organization.name == "Acme AI"


def test_delete_needs_the_exact_name(client, owner, organization):
    client.force_login(owner)
    response = client.post(
        reverse("orgs:delete", args=[organization.slug]), {"confirm_name": "acme ai"}
    )
    assert response.status_code == 400
    assert Organization.objects.filter(pk=organization.pk).exists()


def test_delete_removes_everything_of_the_org(
    client, owner, organization, member, other_organization
):
    client.force_login(owner)
    group_names = [f"org-{organization.pk}-{role.value}" for role in Role]
    response = client.post(
        reverse("orgs:delete", args=[organization.slug]), {"confirm_name": "Acme AI"}
    )
    assert response.status_code == 302
    assert not Organization.objects.filter(pk=organization.pk).exists()
    assert not Membership.objects.filter(organization_id=organization.pk).exists()
    assert not AuditEvent.objects.filter(organization_id=organization.pk).exists()
    assert not Group.objects.filter(name__in=group_names).exists()
    assert not OrganizationGroupObjectPermission.objects.filter(
        content_object_id=organization.pk
    ).exists()
    # The other tenant is untouched.
    assert Organization.objects.filter(pk=other_organization.pk).exists()
    assert Membership.objects.filter(organization=other_organization).exists()


def test_role_change_takes_effect_on_the_next_request(client, owner, organization, admin):
    client.force_login(admin)
    assert client.get(reverse("orgs:audit", args=[organization.slug])).status_code == 200
    membership = Membership.objects.get(user=admin, organization=organization)
    from members.services import membership_change_role

    membership_change_role(
        organization=organization, membership_id=membership.pk, role=Role.VIEWER, actor=Actor(owner)
    )
    assert client.get(reverse("orgs:audit", args=[organization.slug])).status_code == 403


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        (Role.VIEWER, ["Overview"], ["Audit log", ">Organization<"]),
        (Role.MEMBER, ["Overview", ">Organization<"], ["Audit log"]),
        (Role.ADMIN, ["Overview", ">Organization<", "Audit log"], []),
    ],
)
def test_nav_hides_what_the_role_lacks(client, organization, role, visible, hidden):
    user = add_member(organization, role)
    client.force_login(user)
    page = client.get(reverse("orgs:overview", args=[organization.slug])).content.decode()
    nav = page[
        page.index('<nav class="sidenav"') : page.index(
            "</nav>", page.index('<nav class="sidenav"')
        )
    ]
    for label in visible:
        assert label in nav
    for label in hidden:
        assert label not in nav
