"""The audit log in Chromium, as an admin in Paris: filtering by action swaps the table and the
URL, and a change reads as typed before → after with the exact time on hover."""

import re

import pytest
from playwright.sync_api import expect

from members.services import membership_change_role
from orgs import services
from orgs.roles import Role
from prism_site.actor import Actor
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_organization, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_filters_the_log_and_reads_before_and_after(browser, live_server):
    base = live_server.url
    owner = make_user("olivia@example.test")
    organization = make_organization("Acme AI", owner=owner)
    admin = add_member(organization, Role.ADMIN, make_user("adam@example.test"))
    member = add_member(organization, Role.MEMBER, make_user("mia@example.test"))
    membership = organization.memberships.get(user=member)
    membership_change_role(
        organization=organization, membership_id=membership.pk, role="admin", actor=Actor(owner)
    )
    services.config_section_update(
        organization=organization,
        actor=Actor(admin),
        base_version=1,
        section="budgets",
        values={"enabled": True, "limit": "500"},
    )

    page = browser.new_context(timezone_id="Europe/Paris").new_page()
    sign_in(page, base, admin.email, PASSWORD)
    page.goto(f"{base}/o/{organization.slug}/settings/audit/")
    expect(page.get_by_text("Times are in Europe/Paris")).to_be_visible()
    rows = page.locator("#audit-table tbody tr")
    expect(rows.filter(has_text="Role: Member → Admin")).to_have_count(1)

    page.get_by_label("Action").select_option(label="Changed the config")
    expect(rows).to_have_count(1)
    assert "action=config.update" in page.url
    row = rows.first
    expect(row).to_contain_text("budgets.enabled: off → on")
    expect(row).to_contain_text("budgets.limit: none → $500.00 USD")
    expect(row.locator("time")).to_have_text("just now")
    expect(row.locator("time")).to_have_attribute("title", re.compile(r" Europe/Paris$"))
    export = page.get_by_role("link", name="Export CSV")
    expect(export).to_have_attribute("href", re.compile(r"action=config\.update"))

    # The filtered URL is shareable: opened afresh, it shows the same rows.
    page.goto(page.url)
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Action")).to_have_value("config.update")
