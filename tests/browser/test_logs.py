"""The Logs page in Chromium, as a viewer in Paris: times in their zone, a request's detail in a
dialog, following new requests as they arrive, and a custom range picked by editing "From"."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orgs.roles import Role
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.keys.conftest import make_key
from tests.usage.conftest import _ref, log_row
from usage.services import logs_ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_viewer_reads_follows_and_narrows_the_logs(browser, live_server):
    base = live_server.url
    owner = make_user("olivia@example.test")
    organization = make_organization("Acme AI", owner=owner)
    viewer = add_member(organization, Role.VIEWER, make_user("vic@example.test"))
    key = _ref(make_key(organization, owner, name="checkout").key)
    now = timezone.now()
    first = log_row(key, now - timedelta(minutes=3), request_id="req-first", user="alice")
    old = log_row(key, now - timedelta(days=3), request_id="req-three-days")
    logs_ingest(rows=[first, old])

    page = browser.new_context(timezone_id="Europe/Paris").new_page()
    sign_in(page, base, viewer.email, PASSWORD)
    page.goto(f"{base}/o/{organization.slug}/logs/")
    expect(page.get_by_text("Times are in Europe/Paris")).to_be_visible()
    paris = (now - timedelta(minutes=3)).astimezone(ZoneInfo("Europe/Paris"))
    link = page.get_by_role("link", name="Request req-first")
    expect(link).to_contain_text(paris.strftime("%Y-%m-%d %H:%M"))

    # The detail opens in a dialog.
    link.click()
    dialog = page.get_by_role("dialog", name="Request detail")
    expect(dialog.get_by_role("heading", name="Request req-first")).to_be_visible()
    expect(dialog.get_by_role("link", name="More from this user")).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # Following: a request that arrives now appears on top within a poll or two.
    page.get_by_label("Follow new requests").check()
    expect(page.get_by_text("Following new requests")).to_be_visible()
    logs_ingest(rows=[log_row(key, timezone.now(), request_id="req-live")])
    rows = page.locator("tr[data-request-id]")
    expect(rows.first).to_have_attribute("data-request-id", "req-live", timeout=15_000)
    expect(rows).to_have_count(2)
    assert "follow=on" in page.url
    page.get_by_label("Follow new requests").uncheck()
    expect(page.get_by_text("Following new requests")).to_have_count(0)

    # Editing "From" picks the custom range: four days back reaches the older request.
    start = (timezone.now() - timedelta(days=4)).astimezone(ZoneInfo("Europe/Paris"))
    page.get_by_label("From").fill(start.strftime("%Y-%m-%dT%H:%M"))
    expect(page.get_by_label("Time range")).to_have_value("custom")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name="Request req-three-days")).to_be_visible()
    assert "range=custom" in page.url
