"""Every URL pattern × every kind of caller, with the exact status SPEC §2 demands."""

from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.api.routes import ROUTES as API_ROUTES
from tests.gateway.routes import ROUTES as GATEWAY_ROUTES
from tests.keys.routes import ROUTES as KEY_ROUTES
from tests.matrix import (
    CALLERS,
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

ROUTES = [
    *ORG_ROUTES,
    *MEMBER_ROUTES,
    *KEY_ROUTES,
    *GATEWAY_ROUTES,
    *API_ROUTES,
    *ALERT_ROUTES,
    *LOG_ROUTES,
    *ANALYTICS_ROUTES,
]

# The Django admin's own pages are staff-only by Django; the matrix covers its index.
EXEMPT_NAMESPACES = {"admin"}

# Marks the module as using the database, so the test database exists for the shared org.
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def matrix_org(django_db_setup, django_db_blocker):
    """The organization, a user per role and a client per caller signed in as that user, built
    once for the ~560 cases and rolled back after the last one; each case runs in a savepoint
    of its own (see `test_route_status`)."""
    with django_db_blocker.unblock(), transaction.atomic():
        organization_id, user_ids = build_matrix_org()
        yield organization_id, user_ids, signed_in_clients(user_ids)
        transaction.set_rollback(True)


def _named_patterns(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_patterns(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name or pattern.pattern}"


def test_every_url_pattern_is_in_the_matrix():
    covered = {route.name for route in ROUTES}
    missing = sorted(
        name
        for name in set(_named_patterns(get_resolver().url_patterns))
        if name.split(":")[0] not in EXEMPT_NAMESPACES and name not in covered
    )
    assert missing == [], f"add these URL patterns to a tests/<app>/routes.py: {missing}"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.id)
def test_route_status(matrix_org, route, caller):
    # Whatever the route's kwargs and data create and the request writes (the session too) is
    # undone before the next case: every case starts from the org exactly as built.
    organization_id, user_ids, clients = matrix_org
    with transaction.atomic(), client_cookies_restored(clients[caller]) as client:
        status = _request(client, route, load_matrix_context(organization_id, user_ids))
        transaction.set_rollback(True)
    assert status == route.expect[caller], (
        f"{route.id} as {caller}: expected {route.expect[caller]}, got {status}"
    )


def _request(client, route, ctx) -> int:
    url = reverse(route.name, kwargs=route.kwargs(ctx)) + (f"?{route.query}" if route.query else "")
    headers = {"HX-Request": "true"} if route.htmx else {}
    data = route.data(ctx) if route.data else {}
    response = (
        client.generic(
            route.method,
            url,
            data=urlencode(data, doseq=True),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )
        if route.method not in ("GET", "HEAD")
        else client.get(url, data, headers=headers)
    )
    return response.status_code
