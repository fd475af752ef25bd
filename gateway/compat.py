"""The open-source Prism gateway's protocol (`/agentcc/…`), answered from the same selectors and
services as /v1/gateway/, through the contract's maps in gateway/agentcc.py.

Every answer is `{"status": true, "result": …}`; failures are the API's error envelope with
`"status": false`. Its request and response bodies, if that gateway sends them in a log row,
are dropped while the row is read and never stored.
"""

import logging
from collections.abc import Callable
from functools import wraps

from django.http import JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from gateway import agentcc, selectors
from gateway.auth import authenticate_bearer, authenticate_webhook_secret
from gateway.batches import check_row_count, parse_json, read_body
from prism_site.api_errors import ApiError, api_error_json, domain_error_json, error_json
from prism_site.errors import DomainError, Invalid
from usage.selectors import spend_summary
from usage.services import logs_ingest

logger = logging.getLogger("gateway.compat")

FAILED = {"status": False}
KEYS_PER_WRITE = 500


def _unauthenticated(credential: str) -> JsonResponse:
    return error_json(
        401, code="invalid_token", message=f"Send a valid {credential}.", extra=FAILED
    )


def gateway_view(authenticate: Callable, credential: str, method: str):
    """A view of that protocol: authenticated first, every failure in the error envelope."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if authenticate(request) is None:
                return _unauthenticated(credential)
            if request.method != method:
                response = error_json(
                    405,
                    code="method_not_allowed",
                    message=f"{request.path} answers {method} only.",
                    extra=FAILED,
                )
                response["Allow"] = method
                return response
            try:
                return view(request, *args, **kwargs)
            except DomainError as error:
                return domain_error_json(error, extra=FAILED)
            except ApiError as error:
                return api_error_json(error, extra=FAILED)

        return wrapped

    return decorate


BEARER = "`Authorization: Bearer <token>`"
pull_view = gateway_view(authenticate_bearer, BEARER, "GET")
webhook_view = gateway_view(authenticate_webhook_secret, "`X-Webhook-Secret` header", "POST")


@pull_view
def org_configs_bulk(request):
    """`result`: gateway org id → that org's config entry, provider keys decrypted."""
    budgeted = selectors.budgeted_gateway_keys()
    result = {
        agentcc.gateway_org_id(entry.organization): agentcc.org_config_entry(
            entry.organization,
            entry.config,
            entry.provider_keys,
            keys=budgeted.get(entry.organization.pk, ()),
        ).wire()
        for entry in selectors.organization_configs()
    }
    response = JsonResponse(agentcc.envelope(result))
    response["Cache-Control"] = "no-store"
    return response


def _synced_key_stream(now):
    yield '{"status":true,"result":['
    separator, batch = "", []
    for key in selectors.active_keys(now=now):
        for item in agentcc.synced_keys(key, now=now, retired_secrets=key.retired_still_valid):
            batch.append(item.model_dump_json())
        if len(batch) >= KEYS_PER_WRITE:
            yield separator + ",".join(batch)
            separator, batch = ",", []
    if batch:
        yield separator + ",".join(batch)
    yield "]}"


@pull_view
def api_keys_bulk(request):
    """`result`: every key that can send traffic now, one item per working secret (that gateway
    replaces its whole list with this one, so revoked and expired keys are simply absent)."""
    response = StreamingHttpResponse(
        _synced_key_stream(timezone.now()), content_type="application/json"
    )
    response["Cache-Control"] = "no-store"
    return response


@pull_view
def spend_summary_view(request):
    """`result`: each org's spend in `period` (daily, weekly, monthly, total; monthly without
    one), per key by the key's name, as that gateway seeds its budget counters."""
    period = request.GET.get("period") or "monthly"
    if period not in ("daily", "weekly", "monthly", "total"):
        raise Invalid(
            errors={"period": [f"must be one of daily, weekly, monthly, total, not {period!r}"]}
        )
    now = timezone.now()
    summary = spend_summary(now=now, period=period)
    orgs = [
        agentcc.OrgSpend(
            organization_id=str(org.organization_id),
            total=org.spend,
            per_key={public_id: key.spend for public_id, key in org.keys.items()},
        )
        for org in summary.organizations
    ]
    names = selectors.key_names({public_id for org in orgs for public_id in org.per_key})
    result = agentcc.spend_summary_result(
        period=period,
        period_start=agentcc.budget_period_start(period, now),
        orgs=orgs,
        key_names=names,
    )
    return JsonResponse(agentcc.envelope(result.model_dump(mode="json")))


@webhook_view
def webhook_logs(request):
    """`{"logs": [logEntry, ...]}` → `result: {"ingested": n}` (new rows). Bad rows are logged
    and left out, not refused: that gateway drops a whole batch on any 4xx."""
    # Their costs are Go float64s: read them as floats, as that gateway wrote them.
    payload = parse_json(read_body(request), decimals=False)
    try:
        entries, problems = agentcc.log_rows(payload)
    except ValidationError:
        raise Invalid(
            errors={"logs": ['must be a list of log rows: send {"logs": [{...}, ...]}']},
            code="invalid_batch",
        ) from None
    check_row_count(len(entries) + len(problems))
    result = logs_ingest(rows=[agentcc.ingest_row(entry) for entry in entries])
    if problems or result.rejected:
        logger.warning(
            "Gateway log batch: %d rows stored, %d duplicates, %d refused: %s",
            result.accepted,
            result.duplicates,
            len(problems) + len(result.rejected),
            "; ".join(
                [f"row {p.index}: {', '.join(p.errors)}" for p in problems[:5]]
                + [f"{r.field or 'row'}: {r.reason}" for r in result.rejected[:5]]
            ),
        )
    return JsonResponse(agentcc.envelope({"ingested": result.accepted}))
