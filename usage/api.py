"""The admin API's request logs and analytics of one org: the Logs page's filters over the same
selectors (every query bounded by a time range, keyset pages, no OFFSET) and the Analytics
page's figures from the rollups."""

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from orgs.api_access import api_organization
from orgs.roles import Capability
from prism_site.api_errors import ADMIN_ERRORS, ApiError
from usage import selectors
from usage.forms import LogFilterForm
from usage.models import RequestLog

logger = logging.getLogger("usage.api")

router = Router(tags=["usage"])

LOGS_PAGE_SIZE = 50


class LogKeyOut(Schema):
    id: str
    name: str


class LogOut(Schema):
    id: int
    request_id: str
    started_at: datetime
    key: LogKeyOut
    model: str
    provider: str
    status_code: int
    latency_ms: int
    ttft_ms: int | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost: str  # USD as a decimal string, exact (10 places)
    cache_hit: bool
    fallback_used: bool
    user: str
    session_id: str
    error: str
    metadata: dict[str, Any]


class LogList(Schema):
    data: list[LogOut]
    next_cursor: str | None


class LogFilters(Schema):
    """The Logs page's filters, by the same names (its URL's query is a valid query here)."""

    range: str | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    key: str | None = None
    model: str | None = None
    provider: str | None = None
    status: str | None = None
    errors_only: bool = False
    min_latency: str | None = None
    min_cost: str | None = None
    max_cost: str | None = None
    request_id: str | None = None
    user: str | None = None
    session: str | None = None
    meta: str | None = None


def log_out(log: RequestLog) -> dict:
    return {
        "id": log.pk,
        "request_id": log.request_id,
        "started_at": log.started_at,
        "key": {"id": log.key.public_id, "name": log.key.name},
        "model": log.model,
        "provider": log.provider,
        "status_code": log.status_code,
        "latency_ms": log.latency_ms,
        "ttft_ms": log.ttft_ms,
        "input_tokens": log.input_tokens,
        "output_tokens": log.output_tokens,
        "cached_tokens": log.cached_tokens,
        "cost": str(log.cost),
        "cache_hit": log.cache_hit,
        "fallback_used": log.fallback_used,
        "user": log.end_user,
        "session_id": log.session_id,
        "error": log.error,
        "metadata": log.metadata or {},
    }


def _form_invalid(form) -> ApiError:
    """422 naming the first bad filter and every problem (the form's messages name their field)."""
    problems = [(field, message) for field, messages in form.errors.items() for message in messages]
    return ApiError(
        422,
        "invalid",
        "; ".join(
            message if message.startswith(f"{field}:") else f"{field}: {message}"
            for field, message in problems
        ),
        param=problems[0][0] if problems else None,
    )


@router.get(
    "orgs/{org_id}/logs",
    url_name="org-logs",
    response={200: LogList, **ADMIN_ERRORS},
    summary="List the org's request logs, newest first, filtered as on the Logs page",
)
def log_list(request, org_id: str, filters: Query[LogFilters], cursor: str | None = None):
    """`range`: 1h, 24h (the default), 7d, 30d, or `custom` with `from` and `to` (ISO 8601; UTC
    without an offset; at most 31 days, no `to` is up to now). It bounds every read. The other
    filters narrow it: `key` (key_…), `model`, `provider`, `status` (2xx, 4xx, 5xx),
    `errors_only`, `min_latency` (ms), `min_cost` and `max_cost` (USD), `request_id`, `user`,
    `session`, `meta` (`name=value`). 50 a page; pass `next_cursor` back as `cursor` with the
    same filters."""
    access = api_organization(request.auth, org_id, Capability.VIEW_OVERVIEW)
    data = {
        name: value
        for name, value in filters.dict(by_alias=True).items()
        if value not in (None, "", False)
    }
    # Times without an offset are UTC here: an API client has no viewer's zone.
    with timezone.override(UTC):
        form = LogFilterForm(data, organization=access.organization)
        if not form.is_valid():
            raise _form_invalid(form)
        log_filter = form.log_filter(timezone.now())
    try:
        page = selectors.request_log_page(
            access.organization,
            log_filter,
            cursor=cursor,
            size=LOGS_PAGE_SIZE,
            timeout_ms=settings.LOGS_STATEMENT_TIMEOUT_MS,
        )
    except selectors.LogQueryTimedOut:
        logger.warning("Logs API of %s timed out: %s", access.organization.slug, data)
        raise ApiError(
            422,
            "query_timeout",
            "range: these filters took too long to read; pick a narrower time range or add a "
            "filter (a key, a model, a status).",
            param="range",
        ) from None
    return {"data": [log_out(log) for log in page.rows], "next_cursor": page.next_cursor}
