"""Settings > API keys through the pages: inventory, create, detail, edit, rotate, revoke."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from keys.models import VirtualKey
from keys.secrets import LookupResult, lookup
from keys.services import key_revoke
from orgs.models import AuditEvent
from prism_site.actor import Actor
from tests.keys.conftest import bulk_keys, make_key

HTMX = {"HX-Request": "true"}


def url(name, organization, key=None, query=""):
    kwargs = {"slug": organization.slug}
    if key is not None:
        kwargs["key_id"] = key.public_id
    return reverse(f"keys:{name}", kwargs=kwargs) + (f"?{query}" if query else "")


def text(response) -> str:
    return response.content.decode()


# -- Inventory ---------------------------------------------------------------------------------


def test_inventory_lists_keys_with_only_their_prefix(client, organization, owner, member):
    mine = make_key(organization, member, name="mia-batch", rate_limit_rpm=30)
    theirs = make_key(organization, owner, name="olivia-web")
    revoked = make_key(organization, owner, name="old-thing")
    key_revoke(key=revoked.key, actor=Actor(owner))
    client.force_login(member)
    page = text(client.get(url("list", organization)))
    for issued in (mine, theirs, revoked):
        assert issued.key.masked_secret in page
        assert issued.secret not in page
    assert "Mia Member" in page and "Olivia Owner" in page
    assert "30 rpm" in page
    assert 'class="inactive key-revoked"' in page
    # The Member may rotate and revoke their own key only.
    assert f"Rotate {mine.key.name}" in page and f"Revoke {mine.key.name}" in page
    assert f"Rotate {theirs.key.name}" not in page and f"Revoke {theirs.key.name}" not in page
    assert "Create key" in page
    # Row links are built from the list URL; they must match the URL patterns.
    assert f'href="{url("detail", organization, mine.key)}"' in page
    assert f'href="{url("rotate", organization, mine.key)}"' in page
    assert f'href="{url("revoke", organization, mine.key)}?next=' in page


def test_inventory_filters_by_status_and_creator(client, organization, owner, member):
    make_key(organization, member, name="mia-batch")
    make_key(organization, owner, name="olivia-web")
    key_revoke(key=make_key(organization, owner, name="old-thing").key, actor=Actor(owner))
    make_key(
        organization, owner, name="short-lived", expires_at=timezone.now() + timedelta(seconds=1)
    )
    VirtualKey.objects.filter(name="short-lived").update(
        expires_at=timezone.now() - timedelta(hours=1)
    )
    client.force_login(member)

    def names(query):
        response = client.get(url("list", organization, query=query), headers=HTMX)
        assert "<html" not in text(response)
        return {
            name
            for name in ("mia-batch", "olivia-web", "old-thing", "short-lived")
            if f">{name}</a>" in text(response)
        }

    assert names("") == {"mia-batch", "olivia-web", "old-thing", "short-lived"}
    assert names("status=active") == {"mia-batch", "olivia-web"}
    assert names("status=revoked") == {"old-thing"}
    assert names("status=expired") == {"short-lived"}
    assert names("mine=on") == {"mia-batch"}
    assert names("status=revoked&mine=on") == set()


def test_inventory_pages_with_a_keyset_not_offset(client, organization, owner):
    bulk_keys(organization, owner, 120)
    client.force_login(owner)
    with CaptureQueriesContext(connection) as queries:
        first = text(client.get(url("list", organization)))
    assert not any("OFFSET" in query["sql"].upper() for query in queries.captured_queries)
    assert "service-00119" in first and "service-00070" in first and "service-00069" not in first
    older = [line for line in first.splitlines() if "Older" in line][0]
    next_url = older.split('href="')[1].split('"')[0].replace("&amp;", "&")
    second = text(client.get(url("list", organization) + next_url))
    assert "service-00069" in second and "service-00020" in second
    assert "service-00070" not in second and "Newest" in second


def test_inventory_query_count_does_not_grow_with_10000_keys(
    client, organization, owner, member, django_assert_max_num_queries
):
    make_key(organization, member, name="first")
    client.force_login(member)
    client.get(url("list", organization))  # settle the session's last_org
    with CaptureQueriesContext(connection) as small:
        assert client.get(url("list", organization)).status_code == 200
    bulk_keys(organization, owner, 10_000, revoked_every=7)
    with django_assert_max_num_queries(9):  # 8, and the budget banner
        response = client.get(url("list", organization))
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as large:
        client.get(url("list", organization, query="status=active&mine=on"))
    assert len(large.captured_queries) == len(small.captured_queries)
    assert text(response).count("<tr class=") == 50


def test_viewer_gets_a_visible_refusal(client, organization, viewer):
    client.force_login(viewer)
    response = client.get(url("list", organization), headers=HTMX)
    assert response.status_code == 403
    toast = json.loads(response.headers["HX-Trigger"])["toast"][0]
    assert "Viewers can't see the org config or API keys." in toast["message"]


# -- Create ------------------------------------------------------------------------------------


def test_create_in_the_dialog_shows_the_secret_once(client, configured_org, member):
    client.force_login(member)
    form = client.get(url("create", configured_org), headers=HTMX)
    assert "<html" not in text(form) and 'hx-post="' in text(form)
    response = client.post(
        url("create", configured_org),
        {
            "name": "checkout",
            "scopes": ["gateway"],
            "rate_limit_rpm": "60",
            "allowed_models": "gpt-4o-mini\nclaude-sonnet-4",
            "allowed_ips": "203.0.113.0/24, 198.51.100.7",
            "budget_limit": "25",
            "budget_period": "monthly",
            "metadata": "team=payments\nowner = mia",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    key = VirtualKey.objects.get(name="checkout")
    page = text(response)
    assert "<html" not in page
    assert "It will not be shown again" in page
    secret = page.split('id="new-key-secret"')[1].split('value="')[1].split('"')[0]
    assert lookup(secret).key == key
    assert 'data-copy="new-key-secret"' in page
    assert key.allowed_models == ["claude-sonnet-4", "gpt-4o-mini"]
    assert key.allowed_ips == ["203.0.113.0/24", "198.51.100.7/32"]
    assert key.metadata == {"team": "payments", "owner": "mia"}
    assert "HX-Trigger" not in response.headers
    # Reloading shows the prefix only.
    assert secret not in text(client.get(url("list", configured_org)))
    assert key.masked_secret in text(client.get(url("list", configured_org)))


def test_create_errors_come_back_next_to_the_fields(client, configured_org, member):
    client.force_login(member)
    make_key(configured_org, member, name="taken")
    data = {
        "name": "taken",
        "scopes": ["gateway", "admin"],
        "rate_limit_rpm": "0",
        "rate_limit_tpm": "1.5",
        "allowed_models": "gpt-5",
        "allowed_ips": "10.0.0.0/33",
        "expires_at": "2001-01-01T00:00",
        "metadata": "no-equals-sign",
    }
    response = client.post(url("create", configured_org), data, headers=HTMX)
    assert response.status_code == 200
    page = text(response)
    for message in (
        "rate_limit_rpm: enter a whole number of at least 1",
        "rate_limit_tpm: enter a whole number of at least 1",
        "metadata: line 1 (no-equals-sign) needs the form key=value.",
    ):
        assert message in page
    assert VirtualKey.objects.count() == 1
    # Once the form parses, the service's rules answer next to their fields too.
    data.update(rate_limit_rpm="5", rate_limit_tpm="", metadata="")
    page = text(client.post(url("create", configured_org), data, headers=HTMX))
    for message in (
        "name: another active key is already called taken",
        "scopes: the admin scope acts with its creator&#x27;s role",
        "allowed_models: gpt-5 is not offered by any enabled provider",
        "allowed_ips: 10.0.0.0/33 is not an IP address or CIDR range",
        "expires_at: pick a time in the future",
    ):
        assert message in page
    assert "sk-prism-" not in page
    assert VirtualKey.objects.count() == 1


def test_create_works_without_javascript(client, organization, member):
    client.force_login(member)
    page = client.get(url("create", organization))
    assert "<html" in text(page) and "hx-post" not in text(page)
    bad = client.post(url("create", organization), {"name": "", "scopes": ["gateway"]})
    assert bad.status_code == 400 and "name: give the key a name." in text(bad)
    good = client.post(url("create", organization), {"name": "cron", "scopes": ["gateway"]})
    assert good.status_code == 200 and "<html" in text(good)
    assert "It will not be shown again" in text(good)


# -- Detail and edit ---------------------------------------------------------------------------


def test_detail_shows_the_effective_policy(client, configured_org, member):
    issued = make_key(
        configured_org,
        member,
        rate_limit_rpm=500,
        rate_limit_tpm=1000,
        allowed_models=["gpt-4o-mini"],
        budget_limit=10,
        budget_period="daily",
    )
    client.force_login(member)
    page = text(client.get(url("detail", configured_org, issued.key)))
    assert issued.key.masked_secret in page and issued.secret not in page
    policy = page.split('id="section-policy"')[1]
    # rpm: org per-key 120 beats the key's 500; tpm: the key's 1000 beats the org's 200000.
    assert '<strong>120</strong> <span class="muted">(org per-key limit)</span>' in policy
    assert '<strong>1000</strong> <span class="muted">(key)</span>' in policy
    effective_models = policy.split('<th scope="row">Models</th>')[1].split("<td>")[3]
    assert "<code>gpt-4o-mini</code>" in effective_models
    assert "claude-sonnet-4" not in effective_models
    assert "Org: $500.00 monthly" in policy and "Key: $10.00 daily" in policy
    assert "Both apply" in policy
    # A Member reads but does not edit.
    assert "?edit=1" not in page


def test_admin_edits_a_key_in_place(client, configured_org, admin, member):
    key = make_key(configured_org, member).key
    client.force_login(admin)
    form = client.get(url("detail", configured_org, key, query="edit=1"), headers=HTMX)
    assert "<html" not in text(form) and 'name="rate_limit_rpm"' in text(form)
    bad = client.post(
        url("update", configured_org, key),
        {"name": "checkout", "scopes": ["gateway"], "allowed_models": "gpt-5"},
        headers=HTMX,
    )
    assert bad.status_code == 200 and "gpt-5 is not offered" in text(bad)
    good = client.post(
        url("update", configured_org, key),
        {"name": "checkout-v2", "scopes": ["gateway"], "rate_limit_rpm": "90"},
        headers=HTMX,
    )
    assert good.status_code == 200
    assert '<strong>90</strong> <span class="muted">(key)</span>' in text(good)
    assert "Saved checkout-v2." in good.headers["HX-Trigger"]
    key.refresh_from_db()
    assert key.name == "checkout-v2" and key.rate_limit_rpm == 90


def test_edit_without_javascript_redirects_back(client, organization, owner):
    key = make_key(organization, owner).key
    client.force_login(owner)
    response = client.post(
        url("update", organization, key), {"name": "renamed", "scopes": ["gateway"]}
    )
    assert response.status_code == 302 and response.url == url("detail", organization, key)
    bad = client.post(url("update", organization, key), {"name": "", "scopes": ["gateway"]})
    assert bad.status_code == 400


def test_key_ids_of_another_org_are_not_found(client, organization, owner, outsider):
    foreign = make_key(outsider.memberships.get().organization, outsider).key
    client.force_login(owner)
    for name in ("detail", "rotate", "revoke"):
        assert client.get(url(name, organization, foreign)).status_code == 404
    assert client.post(url("revoke", organization, foreign)).status_code == 404
    assert VirtualKey.objects.get(pk=foreign.pk).revoked_at is None


# -- Rotate and revoke -------------------------------------------------------------------------


def test_rotate_in_the_dialog_shows_the_new_secret_once(client, organization, member):
    issued = make_key(organization, member)
    client.force_login(member)
    confirm = client.get(url("rotate", organization, issued.key), headers=HTMX)
    assert "None: the old secret stops working now" in text(confirm)
    response = client.post(url("rotate", organization, issued.key), {"grace": "1h"}, headers=HTMX)
    page = text(response)
    assert "no-store" in response.headers["Cache-Control"]
    new_secret = page.split('id="new-key-secret"')[1].split('value="')[1].split('"')[0]
    assert new_secret != issued.secret
    assert "keeps working until" in page
    assert lookup(new_secret).usable and lookup(issued.secret).via_grace
    assert lookup(issued.secret, now=timezone.now() + timedelta(hours=2)).result == (
        LookupResult.ROTATED
    )


def test_member_cannot_rotate_someone_elses_key(client, organization, owner, member):
    key = make_key(organization, owner).key
    client.force_login(member)
    response = client.post(url("rotate", organization, key), {"grace": "none"}, headers=HTMX)
    assert response.status_code == 403
    toast = json.loads(response.headers["HX-Trigger"])["toast"][0]["message"]
    assert toast == "You can rotate only keys you created; Admins and Owners can rotate any key."


def test_admin_cannot_turn_an_owners_key_into_an_owner_key(client, organization, owner, admin):
    gateway = make_key(organization, owner, name="olivia-web").key
    scoped = make_key(organization, owner, name="olivia-automation", scopes=["gateway", "admin"])
    client.force_login(admin)
    edit = client.post(
        url("update", organization, gateway),
        {"name": gateway.name, "scopes": ["gateway", "admin"]},
        headers=HTMX,
    )
    assert edit.status_code == 200
    assert "scopes: the admin scope acts with this key&#x27;s creator&#x27;s role" in text(edit)
    gateway.refresh_from_db()
    assert gateway.scopes == ["gateway"]

    refusal = (
        "This key has the admin scope, so it acts with its creator's role, which can do more "
        "than yours; ask its creator or an Owner to rotate it, or revoke it."
    )
    for response in (
        client.get(url("rotate", organization, scoped.key), headers=HTMX),
        client.post(url("rotate", organization, scoped.key), {"grace": "none"}, headers=HTMX),
    ):
        assert response.status_code == 403
        assert json.loads(response.headers["HX-Trigger"])["toast"][0]["message"] == refusal
    scoped.key.refresh_from_db()
    assert scoped.key.rotated_at is None and lookup(scoped.secret).usable
    detail = text(client.get(url("detail", organization, scoped.key)))
    assert "Rotate…" not in detail and "Revoke…" in detail
    inventory = text(client.get(url("list", organization)))
    assert f"Rotate {scoped.key.name}" not in inventory
    assert f"Rotate {gateway.name}" in inventory and f"Revoke {scoped.key.name}" in inventory


def test_owner_rotates_an_admins_admin_scoped_key(client, organization, owner, admin):
    issued = make_key(organization, admin, scopes=["gateway", "admin"])
    other = make_key(organization, admin, name="adam-gateway").key
    client.force_login(owner)
    assert f"Rotate {issued.key.name}" in text(client.get(url("list", organization)))
    response = client.post(url("rotate", organization, issued.key), {"grace": "none"})
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    assert not lookup(issued.secret).usable
    edit = client.post(
        url("update", organization, other), {"name": other.name, "scopes": ["gateway", "admin"]}
    )
    assert edit.status_code == 302
    other.refresh_from_db()
    assert other.scopes == ["admin", "gateway"]


def test_rotate_with_a_bad_grace_is_refused_with_the_field_named(client, organization, owner):
    key = make_key(organization, owner).key
    client.force_login(owner)
    response = client.post(url("rotate", organization, key), {"grace": "2d"})
    assert response.status_code == 400 and "grace: choose one of none, 1h, 24h, 7d." in text(
        response
    )


def test_revoke_from_the_inventory_returns_there(client, organization, admin, member):
    issued = make_key(organization, member)
    client.force_login(admin)
    inventory = url("list", organization, query="status=active")
    confirm = client.get(
        url("revoke", organization, issued.key) + f"?next={inventory.replace('&', '%26')}",
        headers=HTMX,
    )
    assert "This cannot be undone" in text(confirm)
    response = client.post(
        url("revoke", organization, issued.key), {"next": inventory}, headers=HTMX
    )
    assert response.headers["HX-Redirect"] == inventory
    assert lookup(issued.secret).result == LookupResult.REVOKED
    after = text(client.get(url("list", organization)))
    assert "Revoked checkout-service" in after
    assert 'class="inactive key-revoked"' in after
    assert AuditEvent.objects.filter(action="key.revoke", actor=admin).exists()


def test_revoke_ignores_a_next_outside_the_key_pages(client, organization, owner):
    key = make_key(organization, owner).key
    client.force_login(owner)
    response = client.post(url("revoke", organization, key), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == url("detail", organization, key)
    page = text(client.get(response.url))
    assert "Revoked" in page and "Rotate…" not in page and "Revoke…" not in page


def test_detail_page_query_count_is_fixed(
    client, configured_org, owner, django_assert_max_num_queries
):
    issued = make_key(configured_org, owner)
    client.force_login(owner)
    client.get(url("detail", configured_org, issued.key))
    # 10, the budget banner, and the key's usage (one read of its day rollups)
    with django_assert_max_num_queries(12):
        assert client.get(url("detail", configured_org, issued.key)).status_code == 200


@pytest.mark.parametrize("path", ["list", "create"])
def test_pages_render_for_a_member(client, organization, member, path):
    client.force_login(member)
    assert client.get(url(path, organization)).status_code == 200


def test_editing_keeps_an_expiry_with_seconds_and_reloads_when_the_status_changes(
    client, organization, owner
):
    now = timezone.now()
    key = make_key(organization, owner, expires_at=now + timedelta(seconds=90)).key
    key.refresh_from_db()
    client.force_login(owner)
    shown = key.expires_at.strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        url("update", organization, key),
        {"name": "renamed", "scopes": ["gateway"], "expires_at": shown},
        headers=HTMX,
    )
    assert response.status_code == 200
    before = key.expires_at
    key.refresh_from_db()
    assert key.name == "renamed" and key.expires_at == before
    assert "expires_at" not in AuditEvent.objects.filter(action="key.update").last().details

    VirtualKey.objects.filter(pk=key.pk).update(expires_at=now - timedelta(hours=1))
    response = client.post(
        url("update", organization, key),
        {"name": "renamed", "scopes": ["gateway"], "expires_at": ""},
        headers=HTMX,
    )
    assert response.headers["HX-Redirect"] == url("detail", organization, key)
    key.refresh_from_db()
    assert key.expires_at is None and key.status == "active"
