"""Settings > Organization in Chromium: an Admin edits the budget in place and restores the
previous version; a Member sees it read-only; two editors on one version get a conflict."""

import pytest
from playwright.sync_api import expect

from orgs.roles import Role
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_organization, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def acme(db):
    owner = make_user("olga@example.test", display_name="Olga Owner")
    organization = make_organization("Acme AI", owner=owner)
    admin = add_member(organization, Role.ADMIN, make_user("ada@example.test"))
    member = add_member(organization, Role.MEMBER, make_user("milo@example.test"))
    return organization, admin, member


def settle(page):
    """Let the page finish its requests before the live server shuts down."""
    page.wait_for_load_state("networkidle")


def settings_url(live_server, organization):
    return f"{live_server.url}/o/{organization.slug}/settings/organization/"


def test_admin_edits_the_budget_in_place_and_restores_the_previous_version(page, live_server, acme):
    organization, admin, _ = acme
    sign_in(page, live_server.url, admin.email, PASSWORD)
    page.goto(settings_url(live_server, organization))
    budgets = page.locator("#section-budgets")
    expect(budgets.get_by_text("Unlimited")).to_be_visible()

    budgets.get_by_role("button", name="Edit budgets").click()
    budgets.get_by_label("Enforce the budget").check()
    budgets.get_by_label("Limit (USD)").fill("-3")
    budgets.get_by_role("button", name="Save").click()
    expect(budgets.get_by_text("budgets.limit: must be at least 0")).to_be_visible()

    budgets.get_by_label("Limit (USD)").fill("250")
    budgets.get_by_label("Period").select_option("weekly")
    budgets.get_by_label("When the limit is reached").select_option("warn")
    budgets.get_by_label("Change note (optional)").fill("Q3 spending cap")
    budgets.get_by_role("button", name="Save").click()

    expect(page.locator("#toasts").get_by_text("Saved budgets as version 2.")).to_be_visible()
    expect(budgets.get_by_text("$250.00")).to_be_visible()
    expect(budgets.get_by_text("Warn only")).to_be_visible()
    expect(budgets.get_by_role("button", name="Save")).to_have_count(0)
    history = page.locator("#section-history")
    expect(history.get_by_role("link", name="v2")).to_be_visible()
    expect(history.get_by_text("Q3 spending cap")).to_be_visible()
    # Typed as a person reads it: no value was "none", the new one is money.
    expect(history.get_by_role("listitem").filter(has_text="budgets.limit")).to_contain_text(
        "budgets.limit: none → $250.00"
    )
    expect(page.locator("#section-version")).to_contain_text("Config version 2")

    # The site's confirmation dialog asks, never the browser's confirm(): Esc cancels and gives
    # focus back, Confirm sends the request.
    native = []
    page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))
    restore = history.get_by_role("button", name="Restore version 1")
    restore.click()
    confirm = page.get_by_role("dialog", name="Restore version 1?")
    expect(confirm).to_be_visible()
    expect(
        confirm.get_by_text("Its config is saved as a new version; nothing is lost.")
    ).to_be_visible()
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    expect(restore).to_be_focused()
    expect(page.locator("#section-version")).to_contain_text("Config version 2")
    restore.click()
    confirm.get_by_role("button", name="Restore version 1").click()
    expect(page.get_by_text("Restored version 1 as version 3.")).to_be_visible()
    assert native == []
    expect(page.locator("#section-budgets").get_by_text("Unlimited")).to_be_visible()
    expect(page.locator("#section-history").get_by_text("Restored v1")).to_be_visible()
    settle(page)


def test_member_sees_the_budget_read_only_without_edit_buttons(page, live_server, acme):
    organization, _, member = acme
    sign_in(page, live_server.url, member.email, PASSWORD)
    page.goto(settings_url(live_server, organization))
    budgets = page.locator("#section-budgets")
    expect(budgets.get_by_role("heading", name="Budgets")).to_be_visible()
    expect(budgets.get_by_text("Unlimited")).to_be_visible()
    expect(budgets.get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("button", name="Edit budgets")).to_have_count(0)
    expect(page.get_by_role("button", name="Add provider")).to_have_count(0)
    expect(page.get_by_role("button", name="Edit as JSON")).to_have_count(0)
    expect(page.locator("#section-history").get_by_role("button")).to_have_count(0)
    # Asking for the form by URL still shows the read view.
    page.goto(settings_url(live_server, organization) + "?edit=budgets")
    expect(page.locator("#section-budgets").get_by_label("Limit (USD)")).to_have_count(0)
    settle(page)


def test_two_editors_on_one_version_the_second_gets_a_conflict(browser, live_server, acme):
    organization, admin, _ = acme
    owner_email = "olga@example.test"
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    sign_in(first, live_server.url, owner_email, PASSWORD)
    sign_in(second, live_server.url, admin.email, PASSWORD)
    for page in (first, second):
        page.goto(settings_url(live_server, organization))
        page.locator("#section-budgets").get_by_role("button", name="Edit budgets").click()
        expect(page.get_by_label("Limit (USD)")).to_be_visible()

    first.get_by_label("Limit (USD)").fill("100")
    first.locator("#section-budgets").get_by_role("button", name="Save").click()
    expect(first.locator("#toasts").get_by_text("Saved budgets as version 2.")).to_be_visible()

    second.get_by_label("Limit (USD)").fill("900")
    second.locator("#section-budgets").get_by_role("button", name="Save").click()
    conflict = second.get_by_role("alert").filter(has_text="Conflict")
    expect(conflict).to_contain_text("version 2 was saved by olga@example.test")
    expect(conflict).to_contain_text("budgets.limit: null → 100")
    expect(second.get_by_label("Limit (USD)")).to_have_value("900")
    second.reload()
    expect(second.locator("#section-budgets").get_by_text("$100.00")).to_be_visible()
    for page in (first, second):
        settle(page)
        page.context.close()


def test_a_second_open_form_follows_the_editors_own_save(page, live_server, acme):
    """Two sections open at once: saving one does not make the other a stale edit."""
    organization, admin, _ = acme
    sign_in(page, live_server.url, admin.email, PASSWORD)
    page.goto(settings_url(live_server, organization))
    page.get_by_role("button", name="Edit caching").click()
    page.get_by_role("button", name="Edit budgets").click()
    expect(page.get_by_label("Limit (USD)")).to_be_visible()

    page.get_by_label("Limit (USD)").fill("50")
    page.locator("#section-budgets").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved budgets as version 2.")).to_be_visible()

    page.get_by_label("Cache responses").check()
    page.locator("#section-caching").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved caching as version 3.")).to_be_visible()
    expect(page.locator("#section-caching").get_by_text("On", exact=True)).to_be_visible()
    settle(page)


def test_two_open_sections_each_label_toggles_its_own_checkbox(page, live_server, acme):
    """Caching and IP access open at once: each label belongs to its own form's checkbox."""
    organization, admin, _ = acme
    sign_in(page, live_server.url, admin.email, PASSWORD)
    page.goto(settings_url(live_server, organization))
    caching, ip_acl = page.locator("#section-caching"), page.locator("#section-ip_acl")
    caching.get_by_role("button", name="Edit caching").click()
    ip_acl.get_by_role("button", name="Edit IP access").click()
    cache_box = caching.locator('input[name="enabled"]')
    enforce_box = ip_acl.locator('input[name="enabled"]')
    expect(enforce_box).to_be_visible()
    expect(cache_box).not_to_be_checked()
    expect(enforce_box).not_to_be_checked()

    ip_acl.locator("label", has_text="Enforce IP access rules").click()
    expect(enforce_box).to_be_checked()
    expect(cache_box).not_to_be_checked()

    caching.locator("label", has_text="Cache responses").click()
    expect(cache_box).to_be_checked()
    expect(enforce_box).to_be_checked()

    ip_acl.locator("label", has_text="Enforce IP access rules").click()
    expect(enforce_box).not_to_be_checked()
    expect(cache_box).to_be_checked()
    settle(page)


def open_caching_as(browser, live_server, organization, email):
    page = browser.new_context().new_page()
    sign_in(page, live_server.url, email, PASSWORD)
    page.goto(settings_url(live_server, organization))
    page.locator("#section-caching").get_by_role("button", name="Edit caching").click()
    expect(page.get_by_label("Max entries")).to_be_visible()
    return page, page.locator("#section-caching")


def test_saving_from_an_older_version_keeps_the_other_editors_change(browser, live_server, acme):
    """The Admin changes Max entries while the Owner edits TTL: both changes are kept."""
    organization, admin, _ = acme
    owner, owner_caching = open_caching_as(browser, live_server, organization, "olga@example.test")
    second, admin_caching = open_caching_as(browser, live_server, organization, admin.email)

    admin_caching.get_by_label("Max entries").fill("600")
    admin_caching.get_by_role("button", name="Save").click()
    expect(second.locator("#toasts").get_by_text("Saved caching as version 2.")).to_be_visible()

    owner_caching.get_by_label("Time to live (seconds)").fill("300")
    owner_caching.get_by_role("button", name="Save").click()
    expect(owner.locator("#toasts")).to_contain_text(
        "Saved caching as version 3. Merged with version 2 by ada@example.test, saved "
        "meanwhile: kept their caching.max_entries."
    )
    expect(owner_caching.get_by_text("300 s")).to_be_visible()
    expect(owner_caching.locator("dd", has_text="600")).to_have_text("600")
    second.reload()
    expect(second.locator("#section-caching").get_by_text("300 s")).to_be_visible()
    expect(second.locator("#section-caching").locator("dd", has_text="600")).to_have_text("600")
    for page in (owner, second):
        settle(page)
        page.context.close()


def test_a_field_both_changed_shows_both_values_to_choose_from(browser, live_server, acme):
    organization, admin, _ = acme
    owner, owner_caching = open_caching_as(browser, live_server, organization, "olga@example.test")
    second, admin_caching = open_caching_as(browser, live_server, organization, admin.email)

    admin_caching.get_by_label("Time to live (seconds)").fill("600")
    admin_caching.get_by_role("button", name="Save").click()
    expect(second.locator("#toasts").get_by_text("Saved caching as version 2.")).to_be_visible()

    owner_caching.get_by_label("Time to live (seconds)").fill("300")
    owner_caching.get_by_label("Mode").select_option("semantic")
    owner_caching.get_by_role("button", name="Save").click()
    note = owner_caching.get_by_role("note")
    expect(note).to_contain_text("Time to live (seconds): both changed.")
    expect(note).to_contain_text("Yours: 300 / Theirs (v2 by ada@example.test): 600")
    ttl = owner_caching.get_by_label("Time to live (seconds)")
    expect(ttl).to_have_value("300")
    expect(owner_caching.get_by_label("Mode")).to_have_value("semantic")

    note.get_by_role("button", name="Use theirs").click()
    expect(ttl).to_have_value("600")
    owner_caching.get_by_role("button", name="Save").click()
    expect(owner.locator("#toasts").get_by_text("Saved caching as version 3.")).to_be_visible()
    expect(owner_caching.get_by_text("600 s")).to_be_visible()
    expect(owner_caching.get_by_text("semantic")).to_be_visible()
    for page in (owner, second):
        settle(page)
        page.context.close()
