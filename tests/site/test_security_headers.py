"""Content-Security-Policy on every dashboard page: enforced, a fresh nonce on each response, and
that nonce on every script and style the page carries; no inline handlers or style attributes."""

import re
from html.parser import HTMLParser

import pytest
from django.db import transaction
from django.urls import reverse

from tests.api.routes import ROUTES as API_ROUTES
from tests.keys.routes import ROUTES as KEY_ROUTES
from tests.matrix import (
    build_matrix_org,
    client_cookies_restored,
    load_matrix_context,
    signed_in_clients,
)
from tests.members.routes import ROUTES as MEMBER_ROUTES
from tests.orgs.routes import ROUTES as ORG_ROUTES
from tests.usage.alert_routes import ROUTES as ALERT_ROUTES
from tests.usage.analytics_routes import ROUTES as ANALYTICS_ROUTES
from tests.usage.routes import ROUTES as LOG_ROUTES

pytestmark = pytest.mark.django_db

POLICY_WITHOUT_NONCE = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def _pages():
    """Every page the matrix lists that somebody is shown (200), as the caller who sees it."""
    routes = [
        *ORG_ROUTES,
        *MEMBER_ROUTES,
        *KEY_ROUTES,
        *API_ROUTES,
        *ALERT_ROUTES,
        *LOG_ROUTES,
        *ANALYTICS_ROUTES,
    ]
    for route in routes:
        if route.method != "GET":
            continue
        caller = next((c for c in ("owner", "anonymous") if route.expect[c] == 200), None)
        if caller:
            yield pytest.param(route, caller, id=f"{route.id} as {caller}")


@pytest.fixture(scope="module")
def shared_callers(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        organization_id, user_ids = build_matrix_org()
        yield organization_id, user_ids, signed_in_clients(user_ids)
        transaction.set_rollback(True)


class _Markup(HTMLParser):
    """The nonces of the page's script and style elements, and any attribute the policy
    refuses (style="…", onclick="…") or htmx would have to evaluate (hx-on…)."""

    def __init__(self):
        super().__init__()
        self.nonces: list[tuple[str, str | None]] = []
        self.refused: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag in ("script", "style") and names.get("type") != "application/json":
            self.nonces.append((tag, names.get("nonce")))
        for name, _ in attrs:
            if name == "style" or re.fullmatch(r"on[a-z]+", name) or name.startswith("hx-on"):
                self.refused.append(f"<{tag} {name}=…>")


def _nonce(header: str) -> str | None:
    match = re.search(r"'nonce-([^']+)'", header)
    return match.group(1) if match else None


@pytest.mark.parametrize(("route", "caller"), _pages())
def test_every_page_carries_the_policy_with_a_fresh_nonce_its_scripts_use(
    shared_callers, route, caller
):
    organization_id, user_ids, clients = shared_callers
    with transaction.atomic(), client_cookies_restored(clients[caller]) as client:
        ctx = load_matrix_context(organization_id, user_ids)
        url = reverse(route.name, kwargs=route.kwargs(ctx))
        url += f"?{route.query}" if route.query else ""
        headers = {"HX-Request": "true"} if route.htmx else {}
        first, second = client.get(url, headers=headers), client.get(url, headers=headers)
        transaction.set_rollback(True)
    assert first.status_code == 200, f"{route.id}: {first.status_code}"
    assert "Content-Security-Policy-Report-Only" not in first  # enforced, not only reported
    policy = first["Content-Security-Policy"]
    nonce = _nonce(policy)
    if nonce is None:  # nothing on the page used one: no nonce is offered either
        assert policy == POLICY_WITHOUT_NONCE.replace(" 'nonce-{nonce}'", "")
    else:
        assert policy == POLICY_WITHOUT_NONCE.format(nonce=nonce)
        assert _nonce(second["Content-Security-Policy"]) not in (None, nonce)
    if not first["Content-Type"].startswith("text/html"):
        return
    markup = _Markup()
    markup.feed(first.content.decode())
    assert markup.refused == [], f"{route.id}: attributes the policy refuses"
    assert all(used == nonce for _, used in markup.nonces), (
        f"{route.id}: header nonce {nonce}, elements {markup.nonces}"
    )
    if not route.htmx and route.name != "healthz":
        # A whole page: base.html's own scripts (or the docs page's) carry the nonce.
        assert nonce and len(markup.nonces) >= 2


def test_htmx_is_configured_to_need_neither_inline_styles_nor_eval(client, db):
    page = client.get(reverse("accounts:login")).content.decode()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page).group(1)
    assert '"includeIndicatorStyles": false' in config
    assert '"allowEval": false' in config
    assert '"allowScriptTags": false' in config
