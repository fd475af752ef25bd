"""Every URL pattern × every kind of caller, with the exact status SPEC §2 demands."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.keys.routes import ROUTES as KEY_ROUTES
from tests.matrix import CALLERS, MatrixContext
from tests.members.routes import ROUTES as MEMBER_ROUTES
from tests.orgs.routes import ROUTES as ORG_ROUTES

ROUTES = [*ORG_ROUTES, *MEMBER_ROUTES, *KEY_ROUTES]

# The Django admin's own pages are staff-only by Django; the matrix covers its index.
EXEMPT_NAMESPACES = {"admin"}


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
def test_route_status(client, organization, users_by_role, route, caller):
    ctx = MatrixContext(organization=organization, users=users_by_role)
    url = reverse(route.name, kwargs=route.kwargs(ctx)) + (f"?{route.query}" if route.query else "")
    if caller != "anonymous":
        client.force_login(users_by_role[caller])
        # The home page redirects to the last org visited; start every caller fresh.
    headers = {"HX-Request": "true"} if route.htmx else {}
    data = route.data(ctx) if route.data else {}
    response = (
        client.generic(
            route.method,
            url,
            data=_encode(data),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )
        if route.method not in ("GET", "HEAD")
        else client.get(url, data, headers=headers)
    )
    assert response.status_code == route.expect[caller], (
        f"{route.id} as {caller}: expected {route.expect[caller]}, got {response.status_code}"
    )


def _encode(data: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(data, doseq=True)
