"""The main pages as a person sees them on a phone (390 px) and a desktop (1440 px), in light and
dark: none scrolls sideways, no table spills out of its card, the side menu marks the current page
and Settings > Organization has its section menu. Every page is kept as a screenshot under
test-results/screenshots/layout/<page>-<width>-<theme>.png for a person to look at."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from keys.models import VirtualKey
from keys.services import KeyAttributes, key_create
from members.models import User
from members.services import access_token_create, invitations_send
from orgs.models import Organization
from orgs.roles import Role
from orgs.services import config_provider_save
from prism_site.actor import Actor
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots" / "layout"
VIEWPORTS = [(390, 844), (1440, 900)]
THEMES = ["light", "dark"]

# Run in the page: what would make a person scroll sideways or see a table cut by its card.
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    const wide = [...document.body.querySelectorAll("*")]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 3).map((el) => el.tagName.toLowerCase() + "." + [...el.classList].join("."));
    problems.push(`the page scrolls sideways (${root.scrollWidth} > ${innerWidth}): ${wide}`);
  }
  for (const table of document.querySelectorAll("table")) {
    if (!table.getClientRects().length) continue;  // in a closed <details>
    const card = table.closest(".card, dialog");
    if (!card) { problems.push(`a table outside any card: ${table.className}`); continue; }
    let box = table, scroller = null;
    for (let el = table.parentElement; el && el !== card; el = el.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(el).overflowX)) { scroller = el; break; }
    }
    if (!scroller) problems.push(`a table without a scrolling wrapper: ${table.className}`);
    else box = scroller;
    const right = box.getBoundingClientRect().right, cardRight = card.getBoundingClientRect().right;
    if (right > cardRight + 0.5) problems.push(`a table past its card's edge: ${table.className}`);
  }
  return problems;
}"""


def _demo_world():
    """The demo org (a month of light traffic) plus the long values that used to break tables."""
    call_command("demo_data", requests_per_day=40, stdout=open("/dev/null", "w"))  # noqa: SIM115
    organization = Organization.objects.get(slug="demo")
    owner = User.objects.get(email="owner@demo.prism.test")
    config_provider_save(
        organization=organization,
        actor=Actor(owner),
        base_version=None,
        original_name=None,
        values={
            "name": "azure-openai-westeurope-production",
            "type": "azure_openai",
            "base_url": "https://prism-production-westeurope.openai.azure.com/openai/deployments",
            "models": ["gpt-4o-2024-11-20", "gpt-4o-mini-2024-07-18", "text-embedding-3-large"],
            "api_key": "azure-demo-placeholder-0000000000",
        },
        message="A provider with long values",
    )
    key_create(
        organization=organization,
        actor=Actor(owner),
        attributes=KeyAttributes(
            name="customer-support-summarization-nightly-batch-eu-west",
            allowed_models=["gpt-4o-mini"],
            allowed_ips=["10.0.0.0/8", "192.168.0.0/16"],
            rate_limit_rpm=60,
        ),
    )
    invitations_send(
        organization=organization,
        emails="a.very.long.address.for.the.platform.team@subsidiary.example.test",
        role=Role.MEMBER,
        actor=Actor(owner),
        base_url="http://testserver",
    )
    access_token_create(user=owner, name="deploy pipeline (github actions, production)")
    return organization, owner


def test_main_pages_fit_phone_and_desktop_in_light_and_dark(browser, live_server):
    organization, owner = _demo_world()
    slug = organization.slug
    key = VirtualKey.objects.filter(organization=organization).order_by("pk").first()
    pages = {
        "org-list": reverse("org_list"),
        "overview": reverse("orgs:overview", args=[slug]),
        "keys": reverse("keys:list", args=[slug]),
        "key-detail": reverse("keys:detail", args=[slug, key.public_id]),
        "members": reverse("members:list", args=[slug]),
        "settings-org": reverse("orgs:settings", args=[slug]),
        "audit": reverse("orgs:audit", args=[slug]),
        "config-history": reverse("orgs:config_history", args=[slug]),
        "logs": reverse("logs:list", args=[slug]),
        "analytics": reverse("analytics:overview", args=[slug]),
        "budget-alerts": reverse("budget_alerts:list", args=[slug]),
        "account-tokens": reverse("accounts:tokens"),
    }
    base = live_server.url

    # Signed in once; each viewport and theme gets one context carrying the session cookie.
    context = browser.new_context()
    sign_in(context.new_page(), base, owner.email, "prism-demo-password")
    context.pages[0].wait_for_url(f"{base}/**")
    state = context.storage_state()
    context.close()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for width, height in VIEWPORTS:
        # One context per viewport; each page is loaded once and looked at in both themes (the
        # OS preference, which the tokens follow when no theme was chosen in the page).
        context = browser.new_context(
            viewport={"width": width, "height": height}, storage_state=state, timezone_id="UTC"
        )
        page = context.new_page()
        for name, path in pages.items():
            page.goto(base + path)
            for theme in THEMES:
                page.emulate_media(color_scheme=theme)
                for problem in page.evaluate(LAYOUT_PROBLEMS):
                    problems.append(f"{name} at {width} px, {theme}: {problem}")
                page.screenshot(path=SCREENSHOTS / f"{name}-{width}-{theme}.png", full_page=True)
        page.emulate_media(color_scheme="light")
        _navigation_reads_right(page, base, pages, phone=width < 768)
        context.close()
    assert not problems, "\n".join(problems)


def _navigation_reads_right(page, base, pages, *, phone):
    """The side menu marks where the person is; the settings page's sections are one click away;
    a provider's actions sit in a menu that the keyboard opens and Escape closes."""
    page.goto(base + pages["keys"])
    menu = page.get_by_role("navigation", name="Organization")
    if phone:
        expect(menu.get_by_role("link", name="Members")).to_be_hidden()
        page.get_by_text("Menu", exact=True).click()
    expect(menu.get_by_role("link", name="API keys")).to_have_attribute("aria-current", "page")
    expect(menu.get_by_role("link", name="Members")).not_to_have_attribute("aria-current", "page")

    page.goto(base + pages["settings-org"])
    sections = page.get_by_role("navigation", name="Sections of this page")
    for label in ("Providers", "Routing", "Caching", "Rate limits", "Budgets", "IP access", "JSON"):
        expect(sections.get_by_role("link", name=label, exact=True)).to_be_attached()
    expect(sections.get_by_role("link", name="History")).to_have_attribute(
        "href", pages["config-history"]
    )
    sections.get_by_role("link", name="Budgets", exact=True).click()
    expect(page.get_by_role("heading", name="Budgets", exact=True)).to_be_in_viewport()
    expect(sections.get_by_role("link", name="Budgets", exact=True)).to_have_attribute(
        "aria-current", "true"
    )

    remove = page.get_by_role("button", name="Remove openai-main")
    expect(remove).to_be_hidden()
    page.locator('summary[aria-label="Actions for openai-main"]').focus()
    page.keyboard.press("Enter")
    expect(remove).to_be_visible()
    expect(page.get_by_role("button", name="Edit openai-main")).to_be_visible()
    page.keyboard.press("Escape")
    expect(remove).to_be_hidden()
