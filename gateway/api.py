"""The gateway's API at /v1/gateway/: configs, key sync, spend, request-log ingestion; every
call authenticated by a GATEWAY_TOKENS service token, across every organization."""

import json
from datetime import datetime

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from ninja import Router, Schema

from gateway import selectors
from gateway.auth import GatewayToken

router = Router(auth=GatewayToken(), tags=["gateway"])

# Keys written to the stream per chunk: big enough to keep writes few, small enough to stream.
KEYS_PER_WRITE = 500


class ErrorDetail(Schema):
    type: str
    code: str
    message: str
    param: str | None


class ErrorEnvelope(Schema):
    error: ErrorDetail


class OrganizationRef(Schema):
    id: int
    slug: str


class ConfigEntry(Schema):
    organization: OrganizationRef
    name: str
    version: int
    updated_at: datetime | None
    config: dict


class ConfigList(Schema):
    data: list[ConfigEntry]


class Budget(Schema):
    limit: str
    period: str


class Restrictions(Schema):
    allowed_models: list[str]
    allowed_ips: list[str]
    rate_limit_rpm: int | None
    rate_limit_tpm: int | None
    budget: Budget | None


class RetiredSecretEntry(Schema):
    secret_hash: str
    valid_until: datetime


class KeyEntry(Schema):
    id: str
    name: str
    secret_hash: str
    organization: OrganizationRef
    status: str
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    updated_at: datetime
    restrictions: Restrictions
    retired_secrets: list[RetiredSecretEntry]


class KeyList(Schema):
    data: list[KeyEntry]
    next_cursor: str


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [part.strip().removeprefix("W/") for part in header.split(",")]
    return "*" in candidates or etag in candidates


@router.get(
    "configs",
    url_name="gateway-configs",
    response={200: ConfigList, 304: None, 401: ErrorEnvelope},
    summary="Every organization's config, provider secrets decrypted",
)
def configs(request):
    """Poll with `If-None-Match: <the last ETag>`: 304 and no body while nothing changed.
    The only answer of the control plane that carries provider secrets in plaintext."""
    etag = selectors.configs_etag()
    headers = {"ETag": etag, "Cache-Control": "no-store"}
    if _etag_matches(request.headers.get("If-None-Match", ""), etag):
        return HttpResponse(status=304, headers=headers)
    data = [
        {
            "organization": {"id": entry.organization_id, "slug": entry.slug},
            "name": entry.name,
            "version": entry.version,
            "updated_at": entry.updated_at,
            "config": entry.document,
        }
        for entry in selectors.organization_configs()
    ]
    return JsonResponse({"data": data}, headers=headers)


def _key_stream(sync: selectors.KeySync):
    yield '{"data":['
    separator = ""
    batch = []
    for key in sync.rows():
        batch.append(json.dumps(selectors.key_document(key, now=sync.now), separators=(",", ":")))
        if len(batch) == KEYS_PER_WRITE:
            yield separator + ",".join(batch)
            separator, batch = ",", []
    if batch:
        yield separator + ",".join(batch)
    yield f'],"next_cursor":{json.dumps(sync.next_cursor)}}}'


@router.get(
    "keys",
    url_name="gateway-keys",
    response={200: KeyList, 400: ErrorEnvelope, 401: ErrorEnvelope},
    summary="Keys changed since a cursor (every key without one)",
)
def keys(request, since: str | None = None):
    """Without `since`: every key. With the `next_cursor` of the last answer: only the keys
    created, edited, rotated or revoked since (a key changed in the last 30 seconds may come
    twice). Streamed, oldest change first; expiry and retired secrets' `valid_until` are the
    gateway's to enforce between syncs."""
    sync = selectors.key_sync(since=since, now=timezone.now())
    response = StreamingHttpResponse(_key_stream(sync), content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response
