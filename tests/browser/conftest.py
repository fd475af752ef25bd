"""Playwright in Debian's Chromium against Django's live server."""

import contextlib
import os
import shutil
from dataclasses import dataclass, field

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls in the tests are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def base(live_server):
    return live_server.url


def sign_in(page, base_url: str, email: str, password: str):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


# Every page a test opens reports Content-Security-Policy violations into Python as they happen
# (a navigation would lose anything kept only on `window`); Chromium's console "Refused to …"
# lines are kept too, for the violations no event reaches (a refused eval in a worker, say).
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__prismCspViolation({
    page: location.href,
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    source: event.sourceFile + ":" + event.lineNumber,
    sample: event.sample,
  });
});
"""


@dataclass
class CspWatch:
    violations: list = field(default_factory=list)
    refusals: list = field(default_factory=list)
    pages: list = field(default_factory=list)

    def watch(self, context):
        context.expose_function("__prismCspViolation", self.record)
        context.add_init_script(_REPORT_VIOLATIONS)
        context.on("page", self.watch_page)
        return context

    def record(self, violation):
        self.violations.append(violation)

    def watch_page(self, page):
        self.pages.append(page)
        page.on(
            "console",
            lambda message: (
                self.refusals.append(f"{page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )


@pytest.fixture(autouse=True)
def csp_violations_fail_the_test(browser, monkeypatch, request):
    watch = CspWatch()
    new_context = browser.new_context

    def watched_context(*args, **kwargs):
        return watch.watch(new_context(*args, **kwargs))

    def watched_page(*args, **kwargs):
        return watched_context(*args, **kwargs).new_page()

    monkeypatch.setattr(browser, "new_context", watched_context)
    monkeypatch.setattr(browser, "new_page", watched_page)
    yield watch
    for page in watch.pages:
        if not page.is_closed():
            # A round trip lets the last reports on their way arrive; a page closing meanwhile
            # has none left.
            with contextlib.suppress(Exception):
                page.evaluate("0")
    # Chromium reports one violation both as an event and on the console.
    found = max(len(watch.violations), len(watch.refusals))
    # Reaches the terminal summary also from a pytest-xdist worker.
    request.node.user_properties.append(("csp", (len(watch.pages), found)))
    if found:
        report = [
            f"{v['page']}: {v['directive']} refused {v['blocked']} ({v['source']}) {v['sample']!r}"
            for v in watch.violations
        ] + watch.refusals
        pytest.fail(
            f"{found} Content-Security-Policy violation(s):\n" + "\n".join(report), pytrace=False
        )


def pytest_terminal_summary(terminalreporter):
    tests = pages = violations = 0
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "teardown":
                continue
            for name, (opened, found) in getattr(report, "user_properties", ()):
                if name == "csp":
                    tests, pages, violations = tests + 1, pages + opened, violations + found
    if tests:
        terminalreporter.write_line(
            f"Content-Security-Policy: {violations} violation(s) across {tests} browser tests "
            f"/ {pages} pages"
        )
