"""Admin API test data, built once per module: Acme with a user per role, each holding a personal
access token, admin-scoped keys of the Owner and Admin, a gateway-only key, a revoked and an
expired admin key, and Other Corp with its Owner's key and token."""

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from keys.models import VirtualKey
from members.services import access_token_create
from orgs.roles import Role
from tests.factories import add_member, make_organization, make_user
from tests.keys.conftest import make_key


@dataclass(frozen=True)
class ApiWorld:
    acme: int
    acme_slug: str
    other: int
    other_slug: str
    users: dict[str, int]  # role (and "outsider") → user id
    # Caller name → the secret it sends as `Authorization: Bearer …`.
    credentials: dict[str, str]
    keys: dict[str, str]  # caller name → the key's public id (key callers only)


@pytest.fixture(autouse=True)
def generous_rate_limit(settings):
    settings.ADMIN_API_RATE_LIMIT_PER_MINUTE = 100_000


def build_api_world() -> ApiWorld:
    owner = make_user("owner@example.test", display_name="Olivia Owner")
    acme = make_organization("Acme AI", owner=owner)
    users = {
        "owner": owner,
        "admin": add_member(acme, Role.ADMIN, make_user("admin@example.test")),
        "member": add_member(acme, Role.MEMBER, make_user("member@example.test")),
        "viewer": add_member(acme, Role.VIEWER, make_user("viewer@example.test")),
    }
    other = make_organization("Other Corp", owner=make_user("other-owner@example.test"))
    users["outsider"] = other.memberships.get().user
    credentials, keys = {}, {}
    for role, user in users.items():
        credentials[f"{role}_token"] = access_token_create(user=user, name="ci").secret
    for name, (organization, user, scopes) in {
        "owner_key": (acme, users["owner"], ["admin"]),
        "admin_key": (acme, users["admin"], ["admin", "gateway"]),
        "gateway_key": (acme, users["admin"], ["gateway"]),
        "revoked_key": (acme, users["owner"], ["admin"]),
        "expired_key": (acme, users["owner"], ["admin"]),
        "outsider_key": (other, users["outsider"], ["admin"]),
    }.items():
        issued = make_key(organization, user, name=name, scopes=scopes)
        credentials[name], keys[name] = issued.secret, issued.key.public_id
    now = timezone.now()
    VirtualKey.objects.filter(public_id=keys["revoked_key"]).update(revoked_at=now)
    VirtualKey.objects.filter(public_id=keys["expired_key"]).update(
        expires_at=now - timedelta(minutes=1)
    )
    return ApiWorld(
        acme=acme.pk,
        acme_slug=acme.slug,
        other=other.pk,
        other_slug=other.slug,
        users={role: user.pk for role, user in users.items()},
        credentials=credentials,
        keys=keys,
    )


@pytest.fixture(scope="module")
def api_world(django_db_setup, django_db_blocker) -> ApiWorld:
    """Built once for the module and rolled back after it; each test runs in a savepoint of its
    own (the module needs `pytestmark = pytest.mark.django_db`)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_api_world()
        transaction.set_rollback(True)


def call(method: str, path: str, credential: str | None = None, body=None, headers=None):
    """One admin API request; `body` goes as JSON (a str or bytes as it is)."""
    all_headers = dict(headers or {})
    if credential is not None:
        all_headers["Authorization"] = f"Bearer {credential}"
    if body is not None and not isinstance(body, str | bytes):
        body = json.dumps(body)
    return Client().generic(
        method,
        path,
        data=body or "",
        content_type="application/json",
        headers=all_headers,
    )


def error_of(response) -> dict:
    return response.json()["error"]
