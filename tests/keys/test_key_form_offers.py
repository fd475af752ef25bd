"""The key forms offer what the person may do: the admin scope only to a role that can grant it
(the server refuses it either way), and an expiry read in the viewer's time zone, said once."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from keys.models import VirtualKey
from tests.keys.conftest import make_key

pytestmark = pytest.mark.django_db


def admin_checkbox(page: str) -> str:
    return re.search(r'<input[^>]*value="admin"[^>]*>', page)[0]


def test_a_member_sees_the_admin_scope_disabled_with_the_reason(client, organization, member):
    client.force_login(member)
    page = client.get(reverse("keys:create", args=[organization.slug])).content.decode()
    assert "disabled" in admin_checkbox(page)
    assert "Not available to you: the admin scope acts with its creator&#x27;s role" in page


def test_an_admin_is_offered_the_admin_scope(client, organization, admin):
    client.force_login(admin)
    page = client.get(reverse("keys:create", args=[organization.slug])).content.decode()
    assert "disabled" not in admin_checkbox(page)
    assert "Not available to you" not in page


def test_the_server_refuses_a_member_the_admin_scope_whatever_the_browser_sends(
    client, organization, member
):
    client.force_login(member)
    response = client.post(
        reverse("keys:create", args=[organization.slug]),
        {"name": "sneaky", "scopes": ["gateway", "admin"]},
    )
    assert response.status_code == 400
    assert "scopes: the admin scope acts with its creator&#x27;s role" in response.content.decode()
    assert not VirtualKey.objects.filter(name="sneaky").exists()


def test_an_admin_editing_an_admin_scoped_key_keeps_the_scope_offered(client, organization, admin):
    key = make_key(organization, admin, name="automation", scopes=["admin"]).key
    client.force_login(admin)
    page = client.get(
        reverse("keys:detail", args=[organization.slug, key.public_id]) + "?edit=1"
    ).content.decode()
    checkbox = admin_checkbox(page)
    assert "checked" in checkbox and "disabled" not in checkbox


def test_expiry_is_read_in_the_viewers_zone_which_the_form_names(client, organization, admin):
    client.force_login(admin)
    client.cookies["tz"] = "Asia/Tokyo"
    create = reverse("keys:create", args=[organization.slug])
    assert "In your time zone, Asia/Tokyo." in client.get(create).content.decode()
    response = client.post(
        create, {"name": "nightly", "scopes": ["gateway"], "expires_at": "2030-01-01T09:00"}
    )
    assert response.status_code == 200
    key = VirtualKey.objects.get(name="nightly")
    assert key.expires_at == datetime(2030, 1, 1, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    # Shown back in the same zone, named once.
    detail = client.get(key.get_absolute_url()).content.decode()
    assert "2030-01-01 09:00 Asia/Tokyo" in detail


def test_without_a_zone_cookie_expiry_is_utc(client, organization, admin):
    client.force_login(admin)
    client.post(
        reverse("keys:create", args=[organization.slug]),
        {"name": "plain", "scopes": ["gateway"], "expires_at": "2030-01-01T09:00"},
    )
    assert VirtualKey.objects.get(name="plain").expires_at == datetime(2030, 1, 1, 9, tzinfo=UTC)
