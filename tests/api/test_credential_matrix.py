"""Every admin API route × every kind of credential, with the exact status: the API's route
matrix. Tokens act as their user (by role, or from another org); keys act with their creator's
role in their own org; a gateway-only key is 403, revoked, expired and missing credentials 401."""

from dataclasses import dataclass

import pytest

from orgs.models import Membership, Organization
from tests.api.conftest import call, error_of
from tests.members.helpers import invite

pytestmark = pytest.mark.django_db

CALLERS = (
    "none",
    "owner_token",
    "admin_token",
    "member_token",
    "viewer_token",
    "outsider_token",
    "owner_key",
    "admin_key",
    "gateway_key",
    "revoked_key",
    "expired_key",
    "outsider_key",
)


def expect(*, owner, admin, member, viewer, outsider, keys, outsider_key=None) -> dict[str, int]:
    """Statuses by role; `keys` is what the Owner's and the Admin's admin-scoped keys get (both
    hold every right used here), `outsider_key` that of a key of another org (404 by default)."""
    return {
        "none": 401,
        "owner_token": owner,
        "admin_token": admin,
        "member_token": member,
        "viewer_token": viewer,
        "outsider_token": outsider,
        "owner_key": keys,
        "admin_key": keys,
        "gateway_key": 403,
        "revoked_key": 401,
        "expired_key": 401,
        "outsider_key": 404 if outsider_key is None else outsider_key,
    }


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str  # {org}, {key}, {member} and {invitation} are filled in
    expect: dict[str, int]
    body: dict | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


READ_CONFIG = expect(owner=200, admin=200, member=200, viewer=403, outsider=404, keys=200)
CHANGE_CONFIG = expect(owner=200, admin=200, member=403, viewer=403, outsider=404, keys=200)
MANAGE_KEY = expect(owner=200, admin=200, member=403, viewer=403, outsider=404, keys=200)
VIEW = expect(owner=200, admin=200, member=200, viewer=200, outsider=404, keys=200)

ROUTES = [
    ApiRoute(
        "GET",
        "/v1/orgs",
        expect(
            owner=200, admin=200, member=200, viewer=200, outsider=200, keys=200, outsider_key=200
        ),
    ),
    ApiRoute(
        "POST",
        "/v1/orgs",
        expect(
            owner=201, admin=201, member=201, viewer=201, outsider=201, keys=403, outsider_key=403
        ),
        body={"name": "Customer 42"},
    ),
    ApiRoute("GET", "/v1/orgs/{org}/config", READ_CONFIG),
    ApiRoute(
        "PATCH",
        "/v1/orgs/{org}/config",
        CHANGE_CONFIG,
        body={"config": {"caching": {"enabled": True}}},
    ),
    ApiRoute("PUT", "/v1/orgs/{org}/config", CHANGE_CONFIG, body={"config": {}}),
    ApiRoute("GET", "/v1/orgs/{org}/config/versions", READ_CONFIG),
    ApiRoute("GET", "/v1/orgs/{org}/config/versions/1", READ_CONFIG),
    ApiRoute("POST", "/v1/orgs/{org}/config/versions/1/restore", CHANGE_CONFIG),
    ApiRoute("GET", "/v1/orgs/{org}/keys", READ_CONFIG),
    ApiRoute(
        "POST",
        "/v1/orgs/{org}/keys",
        expect(owner=201, admin=201, member=201, viewer=403, outsider=404, keys=201),
        body={"name": "new-service"},
    ),
    # {key}: the Admin's gateway-only key of Acme (a Member neither created it nor manages keys).
    ApiRoute("GET", "/v1/keys/{key}", READ_CONFIG),
    ApiRoute("PATCH", "/v1/keys/{key}", MANAGE_KEY, body={"rate_limit_rpm": 7}),
    ApiRoute("DELETE", "/v1/keys/{key}", MANAGE_KEY),
    ApiRoute("POST", "/v1/keys/{key}/rotate", MANAGE_KEY, body={"grace": "none"}),
    ApiRoute("GET", "/v1/orgs/{org}/members", VIEW),
    # {member}: the Member of Acme (nobody changes their own role; the Viewer is not them).
    ApiRoute("PATCH", "/v1/orgs/{org}/members/{member}", MANAGE_KEY, body={"role": "viewer"}),
    ApiRoute(
        "DELETE",
        "/v1/orgs/{org}/members/{member}",
        expect(owner=204, admin=204, member=403, viewer=403, outsider=404, keys=204),
    ),
    ApiRoute("GET", "/v1/orgs/{org}/invitations", VIEW),
    ApiRoute(
        "POST",
        "/v1/orgs/{org}/invitations",
        expect(owner=201, admin=201, member=403, viewer=403, outsider=404, keys=201),
        body={"emails": ["newcomer@example.test"], "role": "member"},
    ),
    # {invitation}: a Member invitation the Owner sent.
    ApiRoute("DELETE", "/v1/orgs/{org}/invitations/{invitation}", MANAGE_KEY),
    ApiRoute("GET", "/v1/orgs/{org}/logs", VIEW),
    ApiRoute("GET", "/v1/orgs/{org}/analytics", VIEW),
]


def _invitation_id(world, path: str) -> str:
    if "{invitation}" not in path:
        return ""
    organization = Organization.objects.get(pk=world.acme)
    invitation, _token = invite(
        organization, organization.memberships.get(role="owner").user, "invitee@example.test"
    )
    return f"inv_{invitation.pk}"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.id)
def test_api_route_status(api_world, route, caller):
    member = Membership.objects.get(
        organization_id=api_world.acme, user_id=api_world.users["member"]
    )
    path = route.path.format(
        org=api_world.acme_slug,
        key=api_world.keys["gateway_key"],
        member=f"mem_{member.pk}",
        invitation=_invitation_id(api_world, route.path),
    )
    credential = api_world.credentials.get(caller)
    response = call(route.method, path, credential, route.body)
    assert response.status_code == route.expect[caller], (
        f"{route.id} as {caller}: expected {route.expect[caller]}, got {response.status_code} "
        f"{response.content[:300]!r}"
    )
    if response.status_code >= 400:
        error = error_of(response)
        assert set(error) == {"type", "code", "message", "param"} and error["message"]


def test_every_admin_route_of_the_openapi_document_is_in_the_matrix(client):
    document = client.get("/v1/openapi.json").json()
    listed = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        if not path.startswith("/v1/gateway/")
        for method in operations
    }
    covered = {
        (
            route.method,
            route.path.replace("{org}", "{org_id}")
            .replace("{key}", "{key_id}")
            .replace("{member}", "{member_id}")
            .replace("{invitation}", "{invitation_id}"),
        )
        for route in ROUTES
    }
    covered = {
        (method, path.replace("/versions/1", "/versions/{number}")) for method, path in covered
    }
    assert listed == covered
