"""A newcomer in Chromium: sign up, create an org, find it in the switcher, rename, sign out."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_signup_create_switch_rename_signout(page, live_server):
    base = live_server.url
    page.goto(f"{base}/accounts/signup/")
    page.get_by_label("Your name").fill("Nora Newcomer")
    page.get_by_label("Email").fill("nora@example.test")
    page.get_by_label("Password").fill("a-long-unusual-pass-42")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
    page.get_by_label("Organization name").fill("Nebula Labs")
    page.get_by_role("button", name="Create organization").click()

    expect(page.get_by_role("heading", name="Nebula Labs")).to_be_visible()
    expect(page.get_by_text("Your role: Owner")).to_be_visible()
    expect(page.get_by_text("Created Nebula Labs. You are its Owner.")).to_be_visible()

    # The switcher lists the new org.
    page.get_by_label("Switch organization").click()
    switcher = page.get_by_role("navigation", name="Your organizations")
    expect(switcher.get_by_role("link", name="Nebula Labs")).to_be_visible()
    page.get_by_label("Switch organization").click()

    # Rename in place (htmx): Edit opens the form inside the General section.
    page.get_by_role("navigation", name="Organization").get_by_role(
        "link", name="Organization"
    ).click()
    page.get_by_role("link", name="Edit").click()
    name_field = page.get_by_label("Organization name", exact=True)
    expect(name_field).to_be_visible()
    name_field.fill("Nebula Research")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Renamed to Nebula Research.")).to_be_visible()
    expect(page.get_by_label("Switch organization")).to_contain_text("Nebula Research")

    # Sign out from the account menu.
    page.get_by_label("Account menu").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Prism")).to_be_visible()
    page.goto(f"{base}/orgs/")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/orgs/")


def test_owner_deletes_the_org_through_the_confirmation_dialog(page, live_server):
    from tests.browser.conftest import sign_in
    from tests.factories import PASSWORD, make_organization, make_user

    owner = make_user("dora@example.test")
    organization = make_organization("Doomed Inc", owner=owner)
    sign_in(page, live_server.url, owner.email, PASSWORD)
    page.goto(f"{live_server.url}/o/{organization.slug}/settings/organization/")

    page.get_by_role("button", name="Delete organization…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Type the organization name to confirm").fill("doomed inc")
    dialog.get_by_role("button", name="Delete this organization").click()
    expect(dialog.get_by_text("type the name exactly as shown")).to_be_visible()

    dialog.get_by_label("Type the organization name to confirm").fill("Doomed Inc")
    dialog.get_by_role("button", name="Delete this organization").click()
    expect(page.get_by_text("Deleted Doomed Inc and everything in it.")).to_be_visible()
    expect(page.get_by_role("heading", name="Your organizations")).to_be_visible()
