"""The gateway's API at /v1/gateway/: configs, key sync, spend, request-log ingestion; every
call authenticated by a GATEWAY_TOKENS service token, across every organization."""

import json
from datetime import datetime
from typing import Literal

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from ninja import Router, Schema

from gateway import selectors
from gateway.auth import GatewayToken
from gateway.batches import MAX_BATCH_BYTES, MAX_BATCH_ROWS, batch_rows, parse_json, read_body
from prism_site.api_errors import ErrorEnvelope
from usage.selectors import PERIODS, spend_summary
from usage.services import LogRow, logs_ingest

router = Router(auth=GatewayToken(), tags=["gateway"])

# Keys written to the stream per chunk: big enough to keep writes few, small enough to stream.
KEYS_PER_WRITE = 500


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


class SyncedKeyList(Schema):
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
            "organization": {"id": entry.organization.pk, "slug": entry.organization.slug},
            "name": entry.organization.name,
            "version": entry.version,
            "updated_at": entry.updated_at,
            "config": entry.document(),
        }
        for entry in selectors.organization_configs()
    ]
    return JsonResponse({"data": data}, headers=headers)


def _key_stream(sync: selectors.KeySync):
    yield '{"data":['
    separator = ""
    batch = []
    for document in sync.documents():
        batch.append(document)
        if len(batch) == KEYS_PER_WRITE:
            yield separator + ",".join(batch)
            separator, batch = ",", []
    if batch:
        yield separator + ",".join(batch)
    yield f'],"next_cursor":{json.dumps(sync.next_cursor)}}}'


@router.get(
    "keys",
    url_name="gateway-keys",
    response={200: SyncedKeyList, 400: ErrorEnvelope, 401: ErrorEnvelope},
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


class KeySpendEntry(Schema):
    period: str
    period_start: datetime | None
    period_end: datetime | None
    spend: str
    limit: str | None


class OrgSpendEntry(Schema):
    organization: OrganizationRef
    period: str
    period_start: datetime | None
    period_end: datetime | None
    spend: str
    limit: str | None
    budget_enabled: bool
    action: str
    keys: dict[str, KeySpendEntry]


class SpendList(Schema):
    as_of: datetime
    data: list[OrgSpendEntry]


def _window(window) -> dict:
    return {"period": window.period, "period_start": window.start, "period_end": window.end}


def _amount(value) -> str | None:
    return None if value is None else str(value)


@router.get(
    "spend",
    url_name="gateway-spend",
    response={200: SpendList, 400: ErrorEnvelope, 401: ErrorEnvelope},
    summary="Spend so far per org and per key in their current budget periods",
)
def spend(request, period: Literal["current", *PERIODS] = "current"):
    """`current` (the default): each org in the period of its config's budget, each key in its
    own budget's period; `daily`, `weekly`, `monthly`, `total` put every org and key in that one.
    Calendar periods in UTC (weeks from Monday), so a restarted gateway resumes enforcement."""
    summary = spend_summary(period=None if period == "current" else period)
    data = [
        {
            "organization": {"id": org.organization_id, "slug": org.slug},
            **_window(org.window),
            "spend": str(org.spend),
            "limit": _amount(org.limit),
            "budget_enabled": org.budget_enabled,
            "action": org.action,
            "keys": {
                public_id: {
                    **_window(key.window),
                    "spend": str(key.spend),
                    "limit": _amount(key.limit),
                }
                for public_id, key in org.keys.items()
            },
        }
        for org in summary.organizations
    ]
    return JsonResponse({"as_of": summary.now, "data": data})


class RowRejectionEntry(Schema):
    index: int
    field: str
    reason: str


class IngestAnswer(Schema):
    accepted: int
    duplicates: int
    rejected: list[RowRejectionEntry]


LOG_BATCH_SCHEMA = {
    "type": "object",
    "required": ["logs"],
    "properties": {
        "logs": {
            "type": "array",
            "maxItems": MAX_BATCH_ROWS,
            "items": LogRow.model_json_schema(mode="validation"),
        }
    },
}


@router.post(
    "logs",
    url_name="gateway-logs",
    response={200: IngestAnswer, 400: ErrorEnvelope, 401: ErrorEnvelope, 413: ErrorEnvelope},
    summary="Store a batch of request records",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": f"At most {MAX_BATCH_ROWS} rows and {MAX_BATCH_BYTES} bytes.",
            "content": {"application/json": {"schema": LOG_BATCH_SCHEMA}},
        }
    },
)
def logs(request):
    """Each row is stored in the org of its own key (`key_id` or `key_hash`). A row already
    stored (same org, `request_id` and `started_at`) is counted as a duplicate and changes
    nothing, so a batch retried after a timeout is safe. Bad rows come back in `rejected` with
    the field and the fix while the others are kept: 200 whenever the body is a batch."""
    rows = batch_rows(parse_json(read_body(request)))
    result = logs_ingest(rows=rows)
    return JsonResponse(
        {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": [
                {"index": row.index, "field": row.field, "reason": row.reason}
                for row in result.rejected
            ],
        }
    )
