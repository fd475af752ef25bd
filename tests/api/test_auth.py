"""Who the admin API lets in, as whom: personal access tokens (made, used, expired, revoked, on
the account page too), keys acting with their creator's current role, no sessions, the
per-credential rate limit, orgs listed and created, and the reference page and document."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from members.access_tokens import TokenLookup, hash_token, token_lookup
from members.models import PersonalAccessToken, User
from members.services import (
    access_token_create,
    access_token_revoke,
    membership_change_role,
    membership_remove,
)
from orgs.models import ApiCallWindow, AuditEvent, Membership, Organization
from orgs.roles import Role
from prism_site.actor import Actor
from tests.api.conftest import call, error_of
from tests.api.test_credential_matrix import ROUTES as MATRIX_ROUTES
from tests.factories import add_member
from tests.keys.conftest import make_key

pytestmark = pytest.mark.django_db


def user(world, role) -> User:
    return User.objects.get(pk=world.users[role])


def config_of(world, credential, org=None):
    return call("GET", f"/v1/orgs/{org or world.acme_slug}/config", credential)


# -- Personal access tokens -------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_only_as_its_hash(api_world):
    issued = access_token_create(user=user(api_world, "member"), name="deploy script")
    assert issued.secret.startswith("prism_pat_") and len(issued.secret) == 50
    row = PersonalAccessToken.objects.get(pk=issued.token.pk)
    assert row.secret_hash == hash_token(issued.secret)
    stored = [str(value) for value in PersonalAccessToken.objects.values_list().get(pk=row.pk)]
    assert issued.secret not in " ".join(stored)
    assert row.masked_secret == f"{issued.secret[:14]}…{issued.secret[-4:]}"


def test_a_token_acts_as_its_user_and_records_its_last_use(api_world):
    issued = access_token_create(user=user(api_world, "member"), name="reader")
    assert issued.token.last_used_at is None
    assert config_of(api_world, issued.secret).status_code == 200
    assert PersonalAccessToken.objects.get(pk=issued.token.pk).last_used_at is not None


def test_expired_and_revoked_tokens_and_deactivated_accounts_are_401(api_world):
    member = user(api_world, "member")
    soon = timezone.now() + timedelta(minutes=5)
    issued = access_token_create(user=member, name="short", expires_at=soon)
    assert config_of(api_world, issued.secret).status_code == 200
    later = soon + timedelta(seconds=1)
    assert token_lookup(issued.secret, now=later).result == TokenLookup.EXPIRED
    PersonalAccessToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now())
    expired = config_of(api_world, issued.secret)
    assert expired.status_code == 401 and error_of(expired)["code"] == "token_expired"

    revoked = access_token_create(user=member, name="revoked")
    access_token_revoke(user=member, public_id=revoked.token.public_id)
    response = config_of(api_world, revoked.secret)
    assert response.status_code == 401 and error_of(response)["code"] == "token_revoked"

    active = access_token_create(user=member, name="active")
    User.objects.filter(pk=member.pk).update(is_active=False)
    assert config_of(api_world, active.secret).status_code == 401


def test_someone_else_cannot_revoke_a_token(api_world):
    issued = access_token_create(user=user(api_world, "member"), name="mine")
    with pytest.raises(Exception, match="No such token"):
        access_token_revoke(user=user(api_world, "owner"), public_id=issued.token.public_id)
    assert config_of(api_world, issued.secret).status_code == 200


@pytest.mark.parametrize(
    "presented",
    [
        "prism_pat_" + "a" * 40,  # well formed, unknown
        "prism_pat_short",
        "sk-prism-" + "a" * 46,  # bad checksum
        "Basic dXNlcjpwYXNz",
        "gw-primary-0123456789abcdefghijklmnopqrstuv",
    ],
)
def test_unknown_credentials_are_401_with_the_envelope(api_world, presented):
    response = config_of(api_world, presented)
    assert response.status_code == 401
    assert error_of(response)["type"] == "authentication_error"


def test_a_session_opens_nothing_on_the_admin_api(api_world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user(api_world, "owner"))
    for method, path in (
        ("get", f"/v1/orgs/{api_world.acme_slug}/config"),
        ("get", "/v1/orgs"),
        ("post", f"/v1/orgs/{api_world.acme_slug}/keys"),
    ):
        response = getattr(client, method)(path, content_type="application/json")
        assert response.status_code == 401 and error_of(response)["code"] == "missing_credential"


def test_the_account_page_creates_lists_and_revokes_tokens(api_world):
    client = Client()
    client.force_login(user(api_world, "admin"))
    page = client.get("/accounts/tokens/")
    assert page.status_code == 200 and b"Create token" in page.content
    assert b'href="/accounts/tokens/"' in page.content  # the account menu's link
    created = client.post("/accounts/tokens/", {"name": "provisioning", "expires_in": "30"})
    assert created.status_code == 200 and "no-store" in created["Cache-Control"]
    token = PersonalAccessToken.objects.get(user=user(api_world, "admin"), name="provisioning")
    secret = created.content.decode().split('id="new-token-secret"')[1].split('value="')[1][:50]
    assert hash_token(secret) == token.secret_hash
    assert 29 <= (token.expires_at - timezone.now()).days <= 30
    # Shown once: the list afterwards holds only the mask.
    listed = client.get("/accounts/tokens/").content.decode()
    assert secret not in listed and token.masked_secret in listed
    assert config_of(api_world, secret).status_code == 200

    bad = client.post("/accounts/tokens/", {"name": "  ", "expires_in": "30"})
    assert bad.status_code == 400 and b"name: give the token a name" in bad.content
    confirm = client.get(f"/accounts/tokens/{token.public_id}/revoke/")
    assert confirm.status_code == 200 and b"Revoke provisioning?" in confirm.content
    assert client.post(f"/accounts/tokens/{token.public_id}/revoke/").status_code == 302
    assert config_of(api_world, secret).status_code == 401


# -- Keys act with their creator's current role --------------------------------------------------


def test_a_demoted_creators_key_can_do_less_at_once(api_world):
    owner, admin = user(api_world, "owner"), user(api_world, "admin")
    key = api_world.credentials["admin_key"]
    patch = {"config": {"caching": {"enabled": True}}}
    path = f"/v1/orgs/{api_world.acme_slug}/config"
    assert call("PATCH", path, key, patch).status_code == 200
    organization = Organization.objects.get(pk=api_world.acme)
    membership = Membership.objects.get(user=admin, organization=organization)
    membership_change_role(
        organization=organization, membership_id=membership.pk, role=Role.MEMBER, actor=Actor(owner)
    )
    refused = call("PATCH", path, key, patch)
    assert refused.status_code == 403
    message = error_of(refused)["message"]
    assert message.startswith("This key acts with its creator's role in acme")
    assert "Members can't change the org config. Ask an Owner or Admin" in message
    assert config_of(api_world, key).status_code == 200  # a Member still reads config
    membership_change_role(
        organization=organization, membership_id=membership.pk, role=Role.VIEWER, actor=Actor(owner)
    )
    assert config_of(api_world, key).status_code == 403


def test_a_key_whose_creator_left_is_403_on_every_route(api_world):
    organization = Organization.objects.get(pk=api_world.acme)
    membership = Membership.objects.get(user_id=api_world.users["admin"], organization=organization)
    membership_remove(
        organization=organization,
        membership_id=membership.pk,
        actor=Actor(user(api_world, "owner")),
    )
    for path in ("/v1/orgs", f"/v1/orgs/{api_world.acme_slug}/config"):
        response = call("GET", path, api_world.credentials["admin_key"])
        assert response.status_code == 403
        assert error_of(response)["code"] == "key_creator_not_member"


def test_a_key_reaches_only_its_own_org_even_when_its_creator_is_in_others(api_world):
    # The Owner of Acme also joins Other Corp as its Owner and makes a key there.
    other = Organization.objects.get(pk=api_world.other)
    owner = add_member(other, Role.OWNER, user(api_world, "owner"))
    other_key = make_key(other, owner, name="other-admin", scopes=["admin"]).secret
    assert config_of(api_world, other_key, org=api_world.other_slug).status_code == 200
    assert config_of(api_world, other_key).status_code == 404
    listed = call("GET", "/v1/orgs", other_key).json()["data"]
    assert [org["id"] for org in listed] == [api_world.other_slug]
    # The same person's token reaches both.
    token = access_token_create(user=owner, name="both").secret
    assert {org["id"] for org in call("GET", "/v1/orgs", token).json()["data"]} == {
        api_world.acme_slug,
        api_world.other_slug,
    }


# -- Organizations -------------------------------------------------------------------------------


def test_a_token_creates_an_org_with_its_user_as_owner(api_world):
    response = call(
        "POST", "/v1/orgs", api_world.credentials["viewer_token"], {"name": "Customer 7"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == "customer-7" and body["role"] == "owner"
    organization = Organization.objects.get(slug="customer-7")
    assert organization.memberships.get().user_id == api_world.users["viewer"]
    event = AuditEvent.objects.get(organization=organization, action="organization.create")
    assert event.details["token_id"].startswith("pat_")
    # The new org is reachable at once with the same token.
    assert (
        config_of(api_world, api_world.credentials["viewer_token"], org="customer-7").status_code
        == 200
    )


def test_only_a_token_creates_orgs_and_a_name_is_required(api_world):
    by_key = call("POST", "/v1/orgs", api_world.credentials["owner_key"], {"name": "Nope"})
    assert by_key.status_code == 403 and error_of(by_key)["code"] == "token_required"
    for body in ({}, {"name": "   "}, {"name": 7}, {"name": "x" * 101}):
        response = call("POST", "/v1/orgs", api_world.credentials["owner_token"], body)
        assert response.status_code == 422 and error_of(response)["param"] == "name"


# -- Rate limit ----------------------------------------------------------------------------------


def test_past_the_limit_a_credential_gets_429_with_retry_after(api_world, settings):
    settings.ADMIN_API_RATE_LIMIT_PER_MINUTE = 3
    token = api_world.credentials["member_token"]
    statuses = [config_of(api_world, token).status_code for _ in range(3)]
    limited = config_of(api_world, token)
    assert statuses == [200, 200, 200] and limited.status_code == 429
    assert error_of(limited)["type"] == "rate_limit_error"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # Counted per credential, in the database (shared by every worker process).
    assert config_of(api_world, api_world.credentials["owner_token"]).status_code == 200
    token_id = PersonalAccessToken.objects.get(secret_hash=hash_token(token)).public_id
    assert ApiCallWindow.objects.get(credential=token_id).calls == 4


def test_a_new_minute_starts_a_new_count_and_clears_the_old(api_world, settings):
    settings.ADMIN_API_RATE_LIMIT_PER_MINUTE = 1
    token = api_world.credentials["admin_token"]
    assert config_of(api_world, token).status_code == 200
    ApiCallWindow.objects.update(window_start=timezone.now() - timedelta(minutes=2))
    assert config_of(api_world, token).status_code == 200
    assert ApiCallWindow.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/v1/orgs", "POST, GET"), ("POST", "/v1/orgs/acme/config", "PATCH, GET, PUT")],
)
def test_a_method_a_route_does_not_take_gets_the_envelope_and_allow(
    api_world, method, path, allowed
):
    response = call(method, path, api_world.credentials["owner_token"])
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == set(allowed.split(", "))
    error = error_of(response)
    assert error["code"] == "method_not_allowed" and method in error["message"]


@pytest.mark.parametrize("slug", ["%00", "ac%00me", "x" * 61, "acme%20corp", "%C3%A9"])
@pytest.mark.parametrize("caller", ["owner_token", "owner_key"])
def test_an_org_id_no_org_can_have_is_not_found(api_world, slug, caller):
    # A NUL reached PostgreSQL, which refuses it in text: a 500 before the slug was checked.
    response = call("GET", f"/v1/orgs/{slug}/config", api_world.credentials[caller])
    assert response.status_code == 404, response.content
    assert error_of(response)["type"] == "not_found_error"


# -- The reference -------------------------------------------------------------------------------


def test_the_openapi_document_lists_the_admin_routes_with_bearer_auth(client):
    document = client.get("/v1/openapi.json").json()
    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        if not path.startswith("/v1/gateway/")
        for method, operation in methods.items()
    ]
    # One row of the credential matrix per admin operation.
    assert len(operations) == len(MATRIX_ROUTES)
    schemes = document["components"]["securitySchemes"]
    for path, method, operation in operations:
        (requirement,) = operation["security"]
        (scheme,) = requirement
        assert schemes[scheme]["scheme"] == "bearer", (path, method)
    create = document["paths"]["/v1/orgs/{org_id}/keys"]["post"]
    assert "name" in create["requestBody"]["content"]["application/json"]["schema"]["properties"]


def test_the_docs_page_is_served_from_local_files(client):
    response = client.get("/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/v1/openapi.json" in page and "https://" not in page and "http://" not in page
    static = Path(django_settings.BASE_DIR) / "static"
    for name in (
        "vendor/swagger-ui-5.31.0/swagger-ui-bundle.js",
        "vendor/swagger-ui-5.31.0/swagger-ui.css",
        "js/api_docs.js",
    ):
        assert f"/static/{name}" in page and (static / name).is_file()


def test_the_audit_page_names_the_key_or_token_a_change_came_through(api_world):
    path = f"/v1/orgs/{api_world.acme_slug}/config"
    call(
        "PATCH",
        path,
        api_world.credentials["admin_key"],
        {"config": {"caching": {"ttl_seconds": 7}}},
    )
    call(
        "PATCH",
        path,
        api_world.credentials["owner_token"],
        {"config": {"caching": {"ttl_seconds": 8}}},
    )
    token_id = PersonalAccessToken.objects.get(
        secret_hash=hash_token(api_world.credentials["owner_token"])
    ).public_id
    client = Client()
    client.force_login(user(api_world, "owner"))
    page = client.get(f"/o/{api_world.acme_slug}/settings/audit/").content.decode()
    assert f"via <code>{api_world.keys['admin_key']}</code>" in page
    assert f"via token <code>{token_id}</code>" in page
