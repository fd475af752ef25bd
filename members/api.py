"""The admin API's authentication: `Authorization: Bearer <credential>`, where the credential is
an API key with the admin scope (`sk-prism-…`) or a personal access token (`prism_pat_…`).

A key acts for its own org only, with its creator's role there now: a demoted creator's key
can do less on the next call, and a key whose creator has left the org (or whose account is
gone) can do nothing: 403, since the key itself is genuine and unrevoked, but holds no rights
(a 401 would tell the client to fix its credential, and no other secret of this key would
help). A token acts as its user in every org of theirs. Revoked, expired, rotated-out and
unknown credentials are 401; a key without the admin scope is 403. Session cookies are not
read: without a bearer credential the answer is 401, so the API has no CSRF surface.
Each credential's calls are counted against ADMIN_API_RATE_LIMIT_PER_MINUTE (429).
"""

import logging

from django.utils import timezone
from ninja.security import HttpBearer

from keys.models import Scope
from keys.secrets import SECRET_PREFIX, lookup
from members.access_tokens import TOKEN_PREFIX, token_lookup, token_mark_used
from orgs.api_access import ApiCaller
from orgs.api_requests import api_rate_limit_check
from orgs.models import Membership
from prism_site.api_errors import ApiError
from prism_site.http import client_ip

logger = logging.getLogger("members.api")

CREDENTIAL_HELP = (
    "Send an API key with the admin scope (sk-prism-…) or a personal access token "
    "(prism_pat_…) as `Authorization: Bearer <credential>`."
)


def _bearer(request) -> str | None:
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()


def _refused(request, status: int, code: str, message: str, *, credential_id: str = ""):
    logger.warning(
        "Admin API refused %s %s from %s: %s%s",
        request.method,
        request.path,
        client_ip(request),
        code,
        f" ({credential_id})" if credential_id else "",
        extra={"client_ip": client_ip(request)},
    )
    return ApiError(status, code, message)


def _key_caller(request, secret: str, now) -> ApiCaller:
    found = lookup(secret, now=now)
    key_id = found.key.public_id if found.key else ""
    if not found.usable:
        raise _refused(request, 401, f"key_{found.result}", found.message, credential_id=key_id)
    key = found.key
    if Scope.ADMIN.value not in (key.scopes or []):
        raise _refused(
            request,
            403,
            "key_without_admin_scope",
            "This key has only the gateway scope: it sends requests through the gateway but "
            "cannot call the admin API. Use a key with the admin scope (an Admin or Owner "
            "creates one) or a personal access token.",
            credential_id=key_id,
        )
    creator_is_member = (
        key.created_by_id is not None
        and Membership.objects.filter(
            user_id=key.created_by_id, organization_id=key.organization_id
        ).exists()
    )
    if not creator_is_member:
        raise _refused(
            request,
            403,
            "key_creator_not_member",
            "This key acts with its creator's role, and its creator is no longer a member of "
            f"{key.organization.slug}, so it holds no rights. Revoke it and use a key of a "
            "current Admin or Owner.",
            credential_id=key_id,
        )
    return ApiCaller(
        user=key.created_by,
        organization=key.organization,
        ip_address=client_ip(request),
        api_key_id=key.public_id,
    )


def _token_caller(request, presented: str, now) -> ApiCaller:
    found = token_lookup(presented, now=now)
    if not found.usable:
        token_id = found.token.public_id if found.token else ""
        raise _refused(request, 401, f"token_{found.result}", found.message, credential_id=token_id)
    token_mark_used(found.token, now=now)
    return ApiCaller(
        user=found.token.user,
        organization=None,
        ip_address=client_ip(request),
        token_id=found.token.public_id,
    )


def authenticate_admin(request) -> ApiCaller:
    """The caller a request's bearer credential stands for, counted against the rate limit;
    raises ApiError (401/403) or RateLimited (429) otherwise."""
    presented = _bearer(request)
    if presented is None:
        raise _refused(request, 401, "missing_credential", CREDENTIAL_HELP)
    now = timezone.now()
    if presented.startswith(TOKEN_PREFIX):
        caller = _token_caller(request, presented, now)
    elif presented.startswith(SECRET_PREFIX):
        caller = _key_caller(request, presented, now)
    else:
        raise _refused(request, 401, "invalid_credential", CREDENTIAL_HELP)
    api_rate_limit_check(caller.credential_id, now=now)
    return caller


class AdminCredential(HttpBearer):
    """django-ninja auth of the admin routers: the OpenAPI document shows a bearer scheme."""

    openapi_description = (
        "An API key with the admin scope (`sk-prism-…`, acts for its org with its creator's "
        "current role) or a personal access token (`prism_pat_…`, acts as its user)."
    )

    def __call__(self, request):
        # Not HttpBearer's own: in DEBUG it logs the header it refuses, secret and all.
        return authenticate_admin(request)

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return None
