"""The admin API's keys: list and create an org's keys, read, edit, revoke and rotate one key.

The same services as Settings > API keys check every right (a key of another org is a 404);
the secret appears once, in the answer to create or rotate, never cached.
"""

from datetime import datetime
from typing import Any

from django.http import JsonResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from ninja import Router, Schema

from keys import selectors, services
from keys.models import KeyStatus, RotationGrace, VirtualKey
from keys.schema import KeyAttributes, KeyAttributesInvalid
from keys.selectors import NO_SUCH_KEY, PUBLIC_ID
from orgs.api_access import ApiCaller, api_organization
from orgs.api_requests import Answer, idempotency_key_read, idempotent
from orgs.roles import Capability
from prism_site.api_errors import ADMIN_ERRORS, ApiError, json_path
from prism_site.api_http import json_body_doc, json_object, read_body
from prism_site.errors import NotFound

router = Router(tags=["keys"])

KEYS_PAGE_SIZE = 50


class KeyOut(Schema):
    id: str
    name: str
    key_prefix: str
    key_last4: str
    status: str
    scopes: list[str]
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    rotated_at: datetime | None
    revoked_at: datetime | None
    rate_limit_rpm: int | None
    rate_limit_tpm: int | None
    allowed_models: list[str]
    allowed_ips: list[str]
    budget_limit: float | None
    budget_period: str | None
    metadata: dict[str, str]


class KeyList(Schema):
    data: list[KeyOut]
    next_cursor: str | None


class IssuedKeyOut(KeyOut):
    key: str  # the full secret: shown in this answer only
    warnings: list[str]


class SavedKeyOut(KeyOut):
    warnings: list[str]


class RotateIn(Schema):
    grace: RotationGrace


def key_out(key: VirtualKey, now: datetime) -> dict[str, Any]:
    return {
        "id": key.public_id,
        "name": key.name,
        "key_prefix": key.secret_prefix,
        "key_last4": key.secret_last4,
        "status": key.status_at(now).value,
        "scopes": list(key.scopes or []),
        "created_by": key.created_by.email if key.created_by_id and key.created_by else None,
        "created_at": key.created_at,
        "expires_at": key.expires_at,
        "last_used_at": key.last_used_at,
        "rotated_at": key.rotated_at,
        "revoked_at": key.revoked_at,
        "rate_limit_rpm": key.rate_limit_rpm,
        "rate_limit_tpm": key.rate_limit_tpm,
        "allowed_models": list(key.allowed_models or []),
        "allowed_ips": list(key.allowed_ips or []),
        # A JSON number (whole cents), as create and edit take it.
        "budget_limit": float(key.budget_limit) if key.budget_limit is not None else None,
        "budget_period": key.budget_period or None,
        "metadata": dict(key.metadata or {}),
    }


def _json(body: dict, *, status: int = 200, secret: bool = False) -> JsonResponse:
    response = JsonResponse(body, status=status)
    if secret:
        add_never_cache_headers(response)
    return response


def attributes_invalid(error: KeyAttributesInvalid) -> ApiError:
    """422 naming the JSON path of each bad field (`allowed_ips[1]`), the first as `param`."""
    problems = [(json_path(problem.loc), problem.message) for problem in error.field_errors]
    return ApiError(
        422,
        error.code,
        "; ".join(f"{path}: {message}" if path else message for path, message in problems),
        param=problems[0][0] if problems and problems[0][0] else None,
    )


def _key(caller: ApiCaller, key_id: str, capability: Capability):
    """The key and the caller's access to its org: a key of an org the credential cannot reach
    is as absent as a key that does not exist."""
    if not PUBLIC_ID.fullmatch(key_id):
        raise NotFound(NO_SUCH_KEY)
    slug = (
        VirtualKey.objects.filter(public_id=key_id)
        .values_list("organization__slug", flat=True)
        .first()
    )
    if slug is None:
        raise NotFound(NO_SUCH_KEY)
    try:
        access = api_organization(caller, slug, capability)
    except NotFound:
        raise NotFound(NO_SUCH_KEY) from None
    return selectors.key_in_organization(access.organization, key_id), access


KEY_BODY = json_body_doc(KeyAttributes)


@router.get(
    "orgs/{org_id}/keys",
    url_name="org-keys",
    response={200: KeyList, **ADMIN_ERRORS},
    summary="List the org's keys, newest first",
)
def key_list(request, org_id: str, status: KeyStatus | None = None, cursor: str | None = None):
    """50 a page; pass `next_cursor` back as `cursor`. `status`: active, expired or revoked."""
    caller: ApiCaller = request.auth
    access = api_organization(caller, org_id, Capability.VIEW_CONFIG)
    now = timezone.now()
    page = selectors.key_inventory_page(
        access.organization,
        user=caller.user,
        capabilities=access.permissions,
        now=now,
        status=status.value if status else None,
        cursor=cursor,
        size=KEYS_PAGE_SIZE,
    )
    return _json(
        {
            "data": [key_out(row.key, now) for row in page.rows],
            "next_cursor": page.page.next_cursor,
        }
    )


@router.post(
    "orgs/{org_id}/keys",
    url_name="org-keys",
    response={201: IssuedKeyOut, **ADMIN_ERRORS},
    summary="Create a key; the answer holds its secret, once",
    openapi_extra=KEY_BODY,
)
def key_create(request, org_id: str):
    """Takes the key's attributes (only `name` is required). `key` in the answer is the full
    secret, shown this once. With an `Idempotency-Key` header a retry of the same request gets
    the first answer again (secret included, for 24 hours) and creates no second key."""
    caller: ApiCaller = request.auth
    access = api_organization(caller, org_id, Capability.CREATE_KEYS)
    body = read_body(request)
    data = json_object(body)
    idempotency_key = idempotency_key_read(request.headers.get("Idempotency-Key"))

    def create() -> tuple[Answer, int]:
        now = timezone.now()
        try:
            issued = services.key_create(
                organization=access.organization, actor=caller.actor, attributes=data, now=now
            )
        except KeyAttributesInvalid as error:
            raise attributes_invalid(error) from None
        body = {
            **key_out(issued.key, now),
            "key": issued.secret,
            "warnings": list(issued.warnings),
        }
        return Answer(status=201, body=body), access.organization.pk

    answer = idempotent(
        credential=caller.credential_id,
        key=idempotency_key,
        request=f"POST {request.path}",
        body=body,
        run=create,
    )
    return answer.response(secret=True)


@router.get(
    "keys/{key_id}",
    url_name="key",
    response={200: KeyOut, **ADMIN_ERRORS},
    summary="Read one key",
)
def key_get(request, key_id: str):
    key, _access = _key(request.auth, key_id, Capability.VIEW_CONFIG)
    return _json(key_out(key, timezone.now()))


@router.patch(
    "keys/{key_id}",
    url_name="key",
    response={200: SavedKeyOut, **ADMIN_ERRORS},
    summary="Change some of a key's attributes (Admins and Owners)",
    openapi_extra=KEY_BODY,
)
def key_update(request, key_id: str):
    """Fields left out keep their values; `null` clears an optional one."""
    caller: ApiCaller = request.auth
    key, _access = _key(caller, key_id, Capability.VIEW_CONFIG)
    changes = json_object(read_body(request))
    now = timezone.now()
    current = KeyAttributes.of(key).model_dump()
    try:
        saved = services.key_update(
            key=key, actor=caller.actor, attributes={**current, **changes}, now=now
        )
    except KeyAttributesInvalid as error:
        raise attributes_invalid(error) from None
    return _json({**key_out(saved.key, now), "warnings": list(saved.warnings)})


@router.delete(
    "keys/{key_id}",
    url_name="key",
    response={200: KeyOut, **ADMIN_ERRORS},
    summary="Revoke a key: its secret stops working at once",
)
def key_revoke(request, key_id: str):
    """Revoking a revoked key changes nothing and answers the key as it is."""
    caller: ApiCaller = request.auth
    key, _access = _key(caller, key_id, Capability.VIEW_CONFIG)
    now = timezone.now()
    if key.revoked_at is None:
        key = services.key_revoke(key=key, actor=caller.actor, now=now)
    return _json(key_out(key, now))


@router.post(
    "keys/{key_id}/rotate",
    url_name="key-rotate",
    response={200: IssuedKeyOut, **ADMIN_ERRORS},
    summary="Rotate a key: a new secret, the old one valid for the grace period",
)
def key_rotate(request, key_id: str, payload: RotateIn):
    """`grace`: none, 1h, 24h or 7d — how long the old secret keeps working. `key` in the answer
    is the new secret, shown this once."""
    caller: ApiCaller = request.auth
    key, _access = _key(caller, key_id, Capability.VIEW_CONFIG)
    now = timezone.now()
    issued = services.key_rotate(key=key, actor=caller.actor, grace=payload.grace.value, now=now)
    return _json({**key_out(issued.key, now), "key": issued.secret, "warnings": []}, secret=True)
