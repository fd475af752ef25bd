"""Matrix rows for the admin API and its pages: a session opens nothing on /v1/ (every signed-in
caller gets the 401 envelope, as anonymous ones do); the API reference page is public; each
person manages their own API tokens. Credentials × roles on the API are in
tests/api/test_credential_matrix.py."""

from members.services import access_token_create
from tests.matrix import LOGIN, Route, expect

SESSION_REFUSED = expect(401, 401, 401, 401, 401, 401)
KEY_ID = "key_0123456789abcdefghij"


def no_kwargs(ctx):
    return {}


def org_id(ctx):
    return {"org_id": ctx.organization.slug}


def version(ctx):
    return {"org_id": ctx.organization.slug, "number": 1}


def key_id(ctx):
    return {"key_id": KEY_ID}


def member_id(ctx):
    return {"org_id": ctx.organization.slug, "member_id": "mem_1"}


def invitation_id(ctx):
    return {"org_id": ctx.organization.slug, "invitation_id": "inv_1"}


def owner_token(ctx):
    token = access_token_create(user=ctx.users["owner"], name="matrix").token
    return {"token_id": token.public_id}


ROUTES = [
    Route("api-docs", expect(200, 200, 200, 200, 200, 200), kwargs=no_kwargs),
    Route("v1:orgs", SESSION_REFUSED, kwargs=no_kwargs),
    Route("v1:orgs", SESSION_REFUSED, kwargs=no_kwargs, method="POST"),
    Route("v1:org-config", SESSION_REFUSED, kwargs=org_id),
    Route("v1:org-config", SESSION_REFUSED, kwargs=org_id, method="PATCH"),
    Route("v1:org-config", SESSION_REFUSED, kwargs=org_id, method="PUT"),
    Route("v1:org-config-versions", SESSION_REFUSED, kwargs=org_id),
    Route("v1:org-config-version", SESSION_REFUSED, kwargs=version),
    Route("v1:org-config-restore", SESSION_REFUSED, kwargs=version, method="POST"),
    Route("v1:org-keys", SESSION_REFUSED, kwargs=org_id),
    Route("v1:org-keys", SESSION_REFUSED, kwargs=org_id, method="POST"),
    Route("v1:key", SESSION_REFUSED, kwargs=key_id),
    Route("v1:key", SESSION_REFUSED, kwargs=key_id, method="PATCH"),
    Route("v1:key", SESSION_REFUSED, kwargs=key_id, method="DELETE"),
    Route("v1:key-rotate", SESSION_REFUSED, kwargs=key_id, method="POST"),
    Route("v1:org-members", SESSION_REFUSED, kwargs=org_id),
    Route("v1:org-member", SESSION_REFUSED, kwargs=member_id, method="PATCH"),
    Route("v1:org-member", SESSION_REFUSED, kwargs=member_id, method="DELETE"),
    Route("v1:org-invitations", SESSION_REFUSED, kwargs=org_id),
    Route("v1:org-invitations", SESSION_REFUSED, kwargs=org_id, method="POST"),
    Route("v1:org-invitation", SESSION_REFUSED, kwargs=invitation_id, method="DELETE"),
    Route("v1:org-logs", SESSION_REFUSED, kwargs=org_id),
    Route("v1:org-analytics", SESSION_REFUSED, kwargs=org_id),
    Route("accounts:tokens", expect(LOGIN, 200, 200, 200, 200, 200), kwargs=no_kwargs),
    # A bad form is shown again with its errors.
    Route(
        "accounts:tokens", expect(LOGIN, 400, 400, 400, 400, 400), kwargs=no_kwargs, method="POST"
    ),
    # Someone else's token is as absent as none.
    Route("accounts:token_revoke", expect(LOGIN, 404, 404, 404, 404, 200), kwargs=owner_token),
    Route(
        "accounts:token_revoke",
        expect(LOGIN, 404, 404, 404, 404, 302),
        kwargs=owner_token,
        method="POST",
    ),
]
