"""What a Viewer comes for, in Chromium: the overview's figures, the Logs page filtered to one
model's errors, one request opened, the filtered rows exported as CSV, and the Analytics page
read; each page is kept as a screenshot (light, dark, phone) under test-results/screenshots/."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

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

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots" / "usage"


def _shots(page, name: str) -> None:
    """The page as a person sees it in light and dark, full length."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark"):
        page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
        page.screenshot(path=SCREENSHOTS / f"{name}-{theme}.png", full_page=True)


def test_a_viewer_reads_overview_logs_export_and_analytics(browser, live_server):
    base = live_server.url
    owner = make_user("olivia@example.test")
    organization = make_organization("Acme AI", owner=owner)
    viewer = add_member(organization, Role.VIEWER, make_user("vic@example.test"))
    checkout = _ref(make_key(organization, owner, name="checkout").key)
    search = _ref(make_key(organization, owner, name="search").key)
    outsider = make_user("oscar@example.test")
    other = make_organization("Other Corp", owner=outsider)
    other_key = _ref(make_key(other, outsider, name="other-main").key)
    now = timezone.now()
    rows = []
    for minute in range(1, 41):
        failing = minute % 4 == 0
        rows.append(
            log_row(
                checkout if minute % 2 else search,
                now - timedelta(minutes=minute * 7),
                request_id=f"req-{minute:03d}",
                model="gpt-4o" if minute % 3 else "claude-sonnet-4-6",
                provider="openai" if minute % 3 else "anthropic",
                status_code=503 if failing else 200,
                error="upstream unavailable" if failing else "",
                latency_ms=300 + minute * 10,
                cost=Decimal("0.0125"),
                user=f"user-{minute % 5}",
            )
        )
    rows.append(log_row(other_key, now - timedelta(minutes=2), request_id="req-other-org"))
    logs_ingest(rows=rows)
    gpt_errors = sorted(  # the newest first: a lower number is a later request
        (
            row["request_id"]
            for row in rows
            if row.get("model") == "gpt-4o" and row["status_code"] >= 400
        ),
    )

    context = browser.new_context(timezone_id="UTC", accept_downloads=True)
    page = context.new_page()
    sign_in(page, base, viewer.email, PASSWORD)

    # The overview has today's figures and the latest errors, no set-up steps the Viewer can't do.
    page.goto(f"{base}/o/{organization.slug}/")
    expect(page.get_by_role("heading", name="Requests today")).to_be_visible()
    expect(page.get_by_role("heading", name="Latest errors")).to_be_visible()
    _shots(page, "overview")

    # Logs: filter to gpt-4o's errors.
    page.get_by_role("navigation", name="Organization").get_by_role("link", name="Logs").click()
    page.get_by_label("Model").fill("gpt-4o")
    page.get_by_label("Errors only").check()
    page.get_by_role("button", name="Filter").click()
    shown = page.locator("tr[data-request-id]")
    expect(shown).to_have_count(len(gpt_errors))
    assert shown.evaluate_all("rows => rows.map(r => r.dataset.requestId)") == gpt_errors
    assert "model=gpt-4o" in page.url and "errors_only=on" in page.url
    expect(page.get_by_text("req-other-org")).to_have_count(0)
    _shots(page, "logs-filtered")

    # One request in the dialog, with its error.
    page.get_by_role("link", name=f"Request {gpt_errors[0]}").click()
    dialog = page.get_by_role("dialog", name="Request detail")
    expect(dialog.get_by_role("heading", name=f"Request {gpt_errors[0]}")).to_be_visible()
    expect(dialog.get_by_text("upstream unavailable")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "log-detail.png")
    dialog.get_by_role("button", name="Close").click()

    # The export holds exactly the filtered rows, named after the filter.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export these rows as CSV").click()
    download = download_info.value
    assert "gpt-4o" in download.suggested_filename
    exported = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert [row["request_id"] for row in exported] == gpt_errors
    assert {row["model"] for row in exported} == {"gpt-4o"}

    # Analytics: the KPIs, a chart with its data table, and a breakdown leading back to the logs.
    page.get_by_role("navigation", name="Organization").get_by_role(
        "link", name="Analytics"
    ).click()
    expect(page.get_by_role("heading", name="Analytics")).to_be_visible()
    expect(page.get_by_label("Period")).to_have_value("7d")
    kpis = page.get_by_role("region", name="Key figures")
    expect(kpis).to_contain_text("40")
    requests_chart = page.locator("section.chart-card").first
    expect(requests_chart.get_by_role("img")).to_be_visible()
    requests_chart.get_by_text("Data as a table").click()
    expect(requests_chart.get_by_role("table")).to_be_visible()
    _shots(page, "analytics")
    page.get_by_role("link", name="claude-sonnet-4-6").first.click()
    expect(page.get_by_role("heading", name="Logs")).to_be_visible()
    expect(page.locator("tr[data-request-id]")).to_have_count(13)

    # On a phone the pages keep to the screen's width.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id="UTC")
    small = phone.new_page()
    sign_in(small, base, viewer.email, PASSWORD)
    for name, path in (("overview", ""), ("logs", "logs/"), ("analytics", "analytics/")):
        small.goto(f"{base}/o/{organization.slug}/{path}")
        small.screenshot(path=SCREENSHOTS / f"{name}-phone.png", full_page=True)
    phone.close()
    context.close()
