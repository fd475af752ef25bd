"""The admin API in Chromium: the reference page renders from local files alone, and a person
makes an API token in the account menu, calls the API with it, and revokes it."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, make_organization, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_reference_renders_without_leaving_the_site(page, live_server):
    base = live_server.url
    elsewhere = []

    def only_local(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{base}/v1/docs")
    expect(page.get_by_role("heading", name="Prism control plane API")).to_be_visible()
    expect(page.get_by_text("/v1/orgs/{org_id}/config").first).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    # Opened up as a reader does (an operation's parameters and highlighted examples, the
    # Authorize dialog), still within the Content-Security-Policy (see conftest).
    page.get_by_text("/v1/orgs/{org_id}/config").first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()
    expect(page.get_by_text("Example Value").first).to_be_visible()
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", name="Available authorizations")).to_be_visible()
    assert elsewhere == []


def test_a_person_makes_a_token_uses_it_and_revokes_it(page, live_server):
    base = live_server.url
    owner = make_user("olivia@example.test", display_name="Olivia Owner")
    organization = make_organization("Acme AI", owner=owner)
    sign_in(page, base, owner.email, PASSWORD)
    page.get_by_label("Account menu").click()
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Token name").fill("provisioning")
    page.get_by_label("Expires").select_option(label="In 30 days")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    secret = page.get_by_label("Token", exact=True).input_value()
    assert secret.startswith("prism_pat_")

    config = f"{base}/v1/orgs/{organization.slug}/config"
    answer = page.request.get(config, headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200 and answer.json()["org_id"] == organization.slug
    # The browser's own session opens nothing on the API.
    assert page.request.get(config).status == 401

    page.get_by_role("link", name="Revoke provisioning").click()
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("Revoked provisioning")).to_be_visible()
    expect(page.get_by_text(secret)).to_have_count(0)
    answer = page.request.get(config, headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 401
