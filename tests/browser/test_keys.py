"""API keys in Chromium: a Member creates a key and copies it from the one-time view; an Admin
rotates it with a 1-hour grace period and revokes another key."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from keys.models import VirtualKey
from keys.secrets import LookupResult, lookup
from orgs.roles import Role
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.keys.conftest import make_key

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_creates_and_copies_a_key_then_admin_rotates_and_revokes(page, browser, live_server):
    base = live_server.url
    owner = make_user("olivia@example.test", display_name="Olivia Owner")
    organization = make_organization("Acme AI", owner=owner)
    mia = make_user("mia@example.test", display_name="Mia")
    member = add_member(organization, Role.MEMBER, mia)
    admin = add_member(organization, Role.ADMIN, make_user("adam@example.test"))
    legacy = make_key(organization, owner, name="legacy-batch")
    keys_url = f"{base}/o/{organization.slug}/settings/keys/"

    # The Member creates a key in the dialog.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    sign_in(page, base, member.email, PASSWORD)
    page.goto(f"{base}/o/{organization.slug}/")
    page.get_by_role("navigation", name="Organization").get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="Settings · API keys")).to_be_visible()
    # Someone else's key: the Member sees it but may not rotate or revoke it.
    expect(page.get_by_role("link", name="legacy-batch")).to_be_visible()
    expect(page.get_by_role("link", name="Revoke legacy-batch")).to_have_count(0)

    page.get_by_role("link", name="Create key").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name").fill("checkout-service")
    dialog.get_by_label("Requests per minute").fill("0")
    dialog.get_by_role("button", name="Create key").click()
    expect(dialog.get_by_text("rate_limit_rpm: enter a whole number of at least 1")).to_be_visible()
    dialog.get_by_label("Requests per minute").fill("60")
    dialog.get_by_label("Allowed IP ranges").fill("203.0.113.0/24")
    dialog.get_by_role("button", name="Create key").click()

    expect(dialog.get_by_text("It will not be shown again")).to_be_visible()
    secret_field = dialog.get_by_label("Secret key")
    secret = secret_field.input_value()
    assert secret.startswith("sk-prism-") and len(secret) == 55
    dialog.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    key = VirtualKey.objects.get(name="checkout-service")
    assert lookup(secret).key == key

    # Closing the dialog with Esc refreshes the list: the new key is in it, by its prefix and
    # last four characters only, and the secret has left the page.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has_text="checkout-service")
    expect(row).to_contain_text(key.masked_secret)
    expect(row).to_contain_text("Mia")
    expect(row).to_contain_text("60 rpm")
    assert secret not in page.content()

    # A second key's dialog closed by a click on the backdrop refreshes the list too.
    page.get_by_role("link", name="Create key").click()
    dialog.get_by_label("Name").fill("nightly-batch")
    dialog.get_by_role("button", name="Create key").click()
    expect(dialog.get_by_text("It will not be shown again")).to_be_visible()
    page.mouse.click(5, 5)
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("row").filter(has_text="nightly-batch")).to_have_count(1)

    # An Admin rotates it with a 1-hour grace period ...
    admin_page = browser.new_context().new_page()
    sign_in(admin_page, base, admin.email, PASSWORD)
    admin_page.goto(keys_url)
    admin_page.get_by_role("link", name="Rotate checkout-service").click()
    rotate = admin_page.get_by_role("dialog")
    expect(rotate.get_by_role("heading", name="Rotate checkout-service?")).to_be_visible()
    rotate.get_by_label("1 hour").check()
    rotate.get_by_role("button", name="Rotate key").click()
    expect(rotate.get_by_text("It will not be shown again")).to_be_visible()
    expect(rotate.get_by_text("keeps working until")).to_be_visible()
    new_secret = rotate.get_by_label("Secret key").input_value()
    assert new_secret != secret
    assert lookup(new_secret).usable
    old = lookup(secret)
    assert old.usable and old.via_grace
    in_61_minutes = timezone.now() + timedelta(minutes=61)
    assert lookup(secret, now=in_61_minutes).result == LookupResult.ROTATED
    # "I have copied it" closes the dialog, and the list shows the new secret's last four.
    rotate.get_by_role("button", name="I have copied it").click()
    expect(rotate).to_be_hidden()
    key.refresh_from_db()
    expect(admin_page.get_by_role("row").filter(has_text="checkout-service")).to_contain_text(
        key.masked_secret
    )

    # ... and revokes another key through the confirmation dialog.
    admin_page.goto(keys_url)
    admin_page.get_by_role("link", name="Revoke legacy-batch").click()
    confirm = admin_page.get_by_role("dialog")
    expect(confirm.get_by_text("This cannot be undone")).to_be_visible()
    confirm.get_by_role("button", name="Revoke key").click()
    expect(admin_page.get_by_text("Revoked legacy-batch")).to_be_visible()
    revoked_row = admin_page.get_by_role("row").filter(has_text="legacy-batch")
    expect(revoked_row).to_contain_text("Revoked")
    expect(revoked_row.get_by_role("link", name="Revoke legacy-batch")).to_have_count(0)
    assert lookup(legacy.secret).result == LookupResult.REVOKED
    admin_page.context.close()


def test_admin_edits_restrictions_in_place_and_sees_the_effective_policy(page, live_server):
    base = live_server.url
    owner = make_user("olga@example.test")
    organization = make_organization("Policy Co", owner=owner)
    issued = make_key(organization, owner, name="reports")
    sign_in(page, base, owner.email, PASSWORD)
    page.goto(f"{base}/o/{organization.slug}/settings/keys/")
    page.get_by_role("link", name="reports", exact=True).click()
    expect(page.get_by_role("heading", name="Effective policy")).to_be_visible()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Tokens per minute").fill("0")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("rate_limit_tpm: enter a whole number")).to_be_visible()
    page.get_by_label("Tokens per minute").fill("2500")
    page.get_by_label("Budget (USD)").fill("40")
    page.get_by_label("Budget period").select_option("weekly")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved reports.")).to_be_visible()
    policy = page.locator("#section-policy")
    expect(policy.get_by_role("row", name="Tokens per minute")).to_contain_text("2500 (key)")
    expect(policy.get_by_role("row", name="Budgets")).to_contain_text("Key: $40.00 weekly")
    issued.key.refresh_from_db()
    assert issued.key.rate_limit_tpm == 2500
