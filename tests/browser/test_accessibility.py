"""axe-core on every page each role can open (and the anonymous pages), in the light and the dark
theme, with the page's dialogs open too: no serious or critical WCAG 2 A/AA violation.

The pages come from the route × role matrix (tests/*/routes.py): every GET route a caller gets a
200 from is visited, with the ids its matrix row builds, so a new page is checked as soon as it
has a matrix row. Prints a table of what was checked and the violations by rule.
"""

import hashlib
import os
import re
import time
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import axe_playwright_python
import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from keys.services import key_revoke
from members.services import invitations_send
from orgs.roles import Role
from prism_site.actor import Actor
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.keys.conftest import OPENAI_AND_ANTHROPIC, make_key, set_org_config
from tests.matrix import MatrixContext
from tests.test_route_matrix import ROUTES
from tests.usage.conftest import _ref, log_row
from usage.models import BudgetAlert
from usage.services import logs_ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
# WCAG 2.0/2.1/2.2 A and AA plus axe's best practices; AAA and experimental rules are left out.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
# The themes differ only in colours (the same tokens, static/css/prism.css): the dark theme is
# checked with the rules that read colours, the rest would find in it what the light one found.
COLOUR_OPTIONS = {
    "runOnly": {"type": "rule", "values": ["color-contrast", "link-in-text-block"]},
    "resultTypes": ["violations"],
}
BLOCKING = {"serious", "critical"}
# A table's rows (and a chart's dots) repeat one row's markup: the first five of each are checked
# and the rest taken out of the page before axe runs; the 50 of a log page and the 720 hours of
# 30 days only made it slower (most of its time; an `exclude` context costs more than the rows).
REPEATED_ROWS = "tbody > tr:nth-child(n+6), svg.chart circle:nth-of-type(n+6)"
THEMES = ("light", "dark")
# `make a11y` checks the dark theme as every caller; the suite checks it as the anonymous visitor
# and the Owner, who between them see every component, and the other roles in the light theme
# only, to stay quick (the dark theme's colours come from the same tokens for everyone).
EVERY_CALLER_IN_DARK = os.environ.get("PRISM_A11Y") == "full"
DARK_CALLERS = ("anonymous", "owner")
# The suite also leaves out the Admin, whose pages are the Owner's with fewer controls; the
# Member's (disabled admin scope, read-only config) and the Viewer's (read-only pages) differ.
ROLES = (
    ("owner", "admin", "member", "viewer")
    if EVERY_CALLER_IN_DARK
    else ("owner", "member", "viewer")
)
# The JSON API's routes are documents for programs, not pages.
NOT_PAGES = ("v1:", "agentcc:")


def pages_for(caller: str) -> list:
    """The matrix's GET routes that answer `caller` with a page (200), one per name and query."""
    pages = {}
    for route in ROUTES:
        if (
            route.method == "GET"
            and not route.htmx
            and route.expect.get(caller) == 200
            and not route.name.startswith(NOT_PAGES)
        ):
            pages.setdefault((route.name, route.query), route)
    return list(pages.values())


class RouteKwargs:
    """Each matrix row's URL kwargs, built once: rows whose builders are the same function with
    the same arguments (`_key_of("member")` for rotate and revoke) share the objects it made,
    where building twice would clash (two active keys of one name)."""

    def __init__(self, ctx: MatrixContext):
        self.ctx = ctx
        self.built = {}

    def __call__(self, route) -> dict:
        build = route.kwargs
        cells = tuple(cell.cell_contents for cell in build.__closure__ or ())
        key = (build.__code__, cells)
        if key not in self.built:
            self.built[key] = build(self.ctx)
        return self.built[key]


def build_demo_org() -> MatrixContext:
    """An org with something on every page: providers and a budget (two config versions), keys
    of each role (one revoked, one over a daily budget so an alert fires), open invitations,
    the last hour's request logs with errors, and the audit events all of that wrote."""
    owner = make_user("owner@example.test", display_name="Olivia Owner")
    organization = make_organization("Acme AI", owner=owner)
    users = {"owner": owner}
    for role, name in ((Role.ADMIN, "Adam Admin"), (Role.MEMBER, "Mia Member")):
        users[role.value] = add_member(
            organization, role, make_user(f"{role.value}@example.test", display_name=name)
        )
    users["viewer"] = add_member(
        organization, Role.VIEWER, make_user("viewer@example.test", display_name="Vic Viewer")
    )
    other = make_organization("Other Corp", owner=make_user("other-owner@example.test"))
    users["outsider"] = add_member(other, Role.OWNER, make_user("outsider@example.test"))

    set_org_config(organization, OPENAI_AND_ANTHROPIC, actor=owner)
    checkout = make_key(organization, users["admin"], name="checkout-service").key
    make_key(organization, users["member"], name="notebook", allowed_models=["gpt-4o-mini"])
    daily = make_key(
        organization, owner, name="batch", budget_limit=Decimal(1), budget_period="daily"
    ).key
    revoked = make_key(organization, owner, name="retired").key
    key_revoke(key=revoked, actor=Actor(owner))
    invitations_send(
        organization=organization,
        emails=["new.person@example.test", "analyst@example.test"],
        role=Role.MEMBER,
        actor=Actor(owner),
        base_url="http://testserver/",
    )
    now = timezone.now()
    rows = [
        log_row(
            _ref(checkout if minute % 2 else daily),
            now - timedelta(minutes=minute),
            model="gpt-4o" if minute % 3 else "claude-sonnet-4",
            provider="openai" if minute % 3 else "anthropic",
            status_code=503 if minute % 5 == 0 else 200,
            error="upstream unavailable" if minute % 5 == 0 else "",
            cost=0.25,
            user=f"user-{minute % 4}",
        )
        for minute in range(1, 61)
    ]
    logs_ingest(rows=rows)
    assert BudgetAlert.objects.filter(organization=organization).exists()
    return MatrixContext(organization=organization, users=users)


def _described(node: dict) -> str:
    """The element, with the colours and ratio when it is a contrast failure."""
    where = " ".join(map(str, node["target"]))
    data = next((check.get("data") for check in node["any"] if check.get("data")), None)
    if isinstance(data, dict) and "contrastRatio" in data:
        where += f" ({data['fgColor']} on {data['bgColor']}: {data['contrastRatio']})"
    return where


class Audit:
    """Runs axe and keeps what it found and what it checked."""

    def __init__(self):
        self.checked = Counter()  # (who, theme) -> pages and dialogs
        self.found = defaultdict(list)  # rule -> [(who, theme, where, impact, targets)]
        self.runs = 0
        self.dialogs = []  # the dialogs checked open, and as whom
        self.seconds = Counter()  # where the time went: loading pages, axe in each theme
        self.slowest = Counter()  # axe's time by page

    def run(self, page, who: str, where: str, *, context=None):
        started = time.perf_counter()
        page.evaluate(
            "rows => document.querySelectorAll(rows).forEach(row => row.remove())", REPEATED_ROWS
        )
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.evaluate(AXE_SOURCE)
        self.seconds["axe load"] += time.perf_counter() - started
        dark = EVERY_CALLER_IN_DARK or who in DARK_CALLERS
        for theme in THEMES if dark else THEMES[:1]:
            page.evaluate("theme => { document.documentElement.dataset.theme = theme }", theme)
            options = AXE_OPTIONS if theme == "light" else COLOUR_OPTIONS
            started = time.perf_counter()
            results = page.evaluate(
                "([context, options]) => axe.run(context, options)",
                [context or "html", options],
            )
            self.seconds[f"axe {theme}"] += time.perf_counter() - started
            self.slowest[where] += time.perf_counter() - started
            self.runs += 1
            self.checked[who, theme] += 1
            for violation in results["violations"]:
                if violation["impact"] in BLOCKING:
                    targets = [_described(node) for node in violation["nodes"]]
                    self.found[violation["id"]].append(
                        (who, theme, where, violation["impact"], targets[:3])
                    )

    def report(self, pages: dict[str, list[str]]) -> str:
        lines = ["", "axe-core: pages × roles × themes checked"]
        lines.append(f"{'caller':<10} {'pages':>5} {'checks light':>13} {'checks dark':>12}")
        for who, visited in pages.items():
            lines.append(
                f"{who:<10} {len(visited):>5} {self.checked[who, 'light']:>13} "
                f"{self.checked[who, 'dark']:>12}"
            )
        lines.append(f"dialogs open: {len(self.dialogs)}: {', '.join(self.dialogs)}")
        spent = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())
        lines.append(f"axe runs: {self.runs}; time: {spent}")
        slowest = ", ".join(
            f"{where} {seconds:.1f} s" for where, seconds in self.slowest.most_common(6)
        )
        lines.append(f"slowest pages for axe: {slowest}")
        lines.append("serious/critical violations by rule:")
        if not self.found:
            lines.append("  none")
        for rule, hits in sorted(self.found.items()):
            lines.append(f"  {rule}: {len(hits)}")
            for who, theme, where, impact, targets in hits[:40]:
                lines.append(f"    {impact:<8} {who:<9} {theme:<5} {where}  {targets}")
        return "\n".join(lines)


def _dialog_kind(url: str) -> str:
    """What an htmx dialog opener shows, without the org and ids: 'settings/keys/…/rotate/'."""
    in_org = url.split("?")[0].split("/o/", 1)[-1].split("/", 1)[-1]
    return re.sub(r"(key_[0-9A-Za-z]+|\d+)/", "…/", in_org)


def check_dialogs(page, audit: Audit, who: str, seen: set):
    """Every dialog the page can open: the ones already in the page (opened as their buttons
    do), and those htmx fills from a link (a key's create/rotate/revoke, a request's detail)."""
    kinds = page.evaluate(
        """() => [...document.querySelectorAll('dialog:not([open])')]
             .filter(d => d.id && d.textContent.trim())
             .map(d => d.id)"""
    )
    for dialog_id in kinds:
        kind = re.sub(r"-\d+$", "", dialog_id)
        if kind in seen:
            continue
        seen.add(kind)
        audit.dialogs.append(f"#{kind} ({who})")
        page.evaluate("id => document.getElementById(id).showModal()", dialog_id)
        audit.run(page, who, f"{page.url} #{dialog_id}", context=f"#{dialog_id}")
        page.evaluate("id => document.getElementById(id).close()", dialog_id)
    openers = page.locator("a[hx-target$='-dialog-body']")
    for index in range(openers.count()):
        opener = openers.nth(index)
        kind = _dialog_kind(opener.get_attribute("hx-get"))
        if kind in seen or not opener.is_visible():
            continue
        seen.add(kind)
        audit.dialogs.append(f"{kind} ({who})")
        target = opener.get_attribute("hx-target")
        dialog = page.locator(f"dialog:has({target})")
        with page.expect_response(lambda response: response.request.method == "GET"):
            opener.click()
        dialog.wait_for(state="visible")
        audit.run(page, who, f"{kind} (dialog)", context=f"dialog:has({target})")
        if dialog.get_by_role("button", name="Create key").count():
            # Creating the key shows its one-time secret in the same dialog.
            dialog.get_by_label("Name").fill(f"axe-{who}")
            dialog.get_by_role("button", name="Create key").click()
            dialog.get_by_label("Secret key").wait_for()
            audit.run(page, who, "key secret (dialog)", context=f"dialog:has({target})")
            audit.dialogs.append(f"the new key's secret ({who})")
        close_dialogs = "() => document.querySelectorAll('dialog[open]').forEach(d => d.close())"
        if page.locator("dialog[open][data-refresh-target]:has([data-dialog-result])").count():
            # Closing the dialog of a new key reloads the key list: let it land, or the next
            # opener could be swapped out mid-request and its dialog never open.
            with page.expect_response(lambda response: response.request.method == "GET"):
                page.evaluate(close_dialogs)
            page.wait_for_function(
                "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
            )
        else:
            page.evaluate(close_dialogs)


def cpu_seconds() -> float:
    """CPU time of this process (the live server is a thread of it) and every process it started
    (Playwright's driver, Chromium and its renderers, those ended included once reaped)."""
    children = defaultdict(list)
    times = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        children[int(fields[1])].append(pid)
        times[pid] = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    total, stack = 0, list(children[os.getpid()])
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0)
        stack.extend(children[pid])
    return time.process_time() + total / os.sysconf("SC_CLK_TCK")


def visit(page, url: str, checked: set) -> bool:
    """Opens `url`; False when it is not an HTML page (a download, JSON) or is byte for byte a
    page already checked (the API reference is the same for everyone)."""
    try:
        response = page.goto(url)
    except PlaywrightError as error:
        if "Download is starting" in str(error):
            return False
        raise
    assert response.status == 200, f"{url}: {response.status}"
    if not response.headers.get("content-type", "").startswith("text/html"):
        return False
    body = hashlib.sha256(response.body()).digest()
    if body in checked:
        return False
    checked.add(body)
    if page.locator("#swagger-ui").count():
        # The API reference draws itself from the OpenAPI document after the page loads.
        page.locator("#swagger-ui .opblock").first.wait_for()
    return True


def test_every_page_for_every_role_has_no_serious_axe_violation(browser, live_server):
    test_started, cpu_started = time.perf_counter(), cpu_seconds()
    test_process_started = time.process_time()
    base = live_server.url
    ctx = build_demo_org()
    audit = Audit()
    url_kwargs = RouteKwargs(ctx)
    visited: dict[str, list[str]] = {}
    checked_bodies = set()
    seen_dialogs = set()  # each kind of dialog is checked once, as the first role that opens it

    for who in ("anonymous", *ROLES):
        context = browser.new_context(timezone_id="UTC")
        page = context.new_page()
        if who == "anonymous":
            # The check can fail: grey on white and a field without a label are found.
            page.set_content("<main><p>Faint</p><input></main>")
            page.evaluate("() => { document.querySelector('p').style.color = '#bbb' }")
            probe = Audit()
            probe.run(page, who, "probe")
            assert {"color-contrast", "label"} <= set(probe.found), probe.report({})
        if who != "anonymous":
            sign_in(page, base, ctx.users[who].email, PASSWORD)
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
        visited[who] = []
        for route in pages_for(who):
            kwargs = url_kwargs(route)
            if who not in ("anonymous", ROLES[0]) and "slug" not in kwargs:
                # A role is a membership of an org: the account's own pages (Your organizations,
                # password, API tokens) are the same whatever it is, and were checked as the first.
                continue
            url = reverse(route.name, kwargs=kwargs)
            url = f"{base}{url}{'?' + route.query if route.query else ''}"
            started = time.perf_counter()
            shown = visit(page, url, checked_bodies)
            audit.seconds["page loads"] += time.perf_counter() - started
            if not shown:
                continue
            visited[who].append(route.id)
            audit.run(page, who, route.id)
            started = time.perf_counter()
            check_dialogs(page, audit, who, seen_dialogs)
            audit.seconds["dialogs"] += time.perf_counter() - started
        context.close()

    summary = audit.report(visited)
    wall, cpu = time.perf_counter() - test_started, cpu_seconds() - cpu_started
    print(
        f"{summary}\ntime: {wall:.1f} s wall, {cpu:.1f} s CPU (tests, server and browser; "
        f"{time.process_time() - test_process_started:.1f} s of it in this process)"
    )
    assert all(visited.values()), f"a caller was shown no page: {visited}"
    assert not audit.found, summary
