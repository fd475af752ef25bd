"""Logs: the org's requests newest first, filtered by a GET form kept in the URL, one request's
detail, and the filtered rows as a streamed CSV.

Every view reads one org's rows of one time range (at most 30 days) through usage.selectors.
"""

import csv
import json
import re

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from orgs.access import OrgAccess, org_view
from orgs.roles import Capability
from usage import selectors
from usage.forms import DEFAULT_RANGE, LogFilterForm

PAGE_SIZE = 50
CSV_COLUMNS = (
    ("started_at", "started_at"),
    ("request_id", "request_id"),
    ("key", "key__public_id"),
    ("key_name", "key__name"),
    ("model", "model"),
    ("provider", "provider"),
    ("status_code", "status_code"),
    ("latency_ms", "latency_ms"),
    ("ttft_ms", "ttft_ms"),
    ("input_tokens", "input_tokens"),
    ("output_tokens", "output_tokens"),
    ("cached_tokens", "cached_tokens"),
    ("cost", "cost"),
    ("cache_hit", "cache_hit"),
    ("fallback_used", "fallback_used"),
    ("user", "end_user"),
    ("session_id", "session_id"),
    ("error", "error"),
    ("metadata", "metadata"),
)


def _filters(request, access: OrgAccess) -> LogFilterForm:
    # Always bound: no filter at all is the default range, which bounds every query.
    return LogFilterForm(request.GET or {"range": DEFAULT_RANGE}, organization=access.organization)


def _list_context(request, access: OrgAccess, form: LogFilterForm) -> dict:
    valid = form.is_valid()
    page = None
    if valid:
        page = selectors.request_log_page(
            access.organization,
            form.log_filter(timezone.now()),
            cursor=request.GET.get(selectors.REQUEST_LOG_KEYSET.param),
            size=PAGE_SIZE,
        )
    return {
        "filters": form,
        "page": page,
        "filtered": valid and len(form.chosen()) > 1,
        # Key pages need the key inventory's capability; Viewers see the key's name only.
        "link_keys": access.can(Capability.VIEW_CONFIG),
    }


@org_view(Capability.VIEW_OVERVIEW)
def log_list(request, access: OrgAccess):
    context = _list_context(request, access, _filters(request, access))
    if request.htmx and not request.htmx.boosted:
        return render(request, "usage/logs.html#log-table", context)
    return render(request, "usage/logs.html", context)


@org_view(Capability.VIEW_OVERVIEW)
def log_detail(request, access: OrgAccess, log_id: int):
    log = selectors.request_log_in_organization(access.organization, log_id)
    context = {"log": log, "link_keys": access.can(Capability.VIEW_CONFIG)}
    if request.htmx:
        return render(request, "usage/log_detail.html#log-detail", context)
    return render(request, "usage/log_detail.html", context)


class _Echo:
    """A file that hands back what is written, so csv.writer makes one line at a time."""

    def write(self, value):
        return value


def _cell(value):
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value.isoformat() if hasattr(value, "isoformat") else value


def _file_name(slug: str, chosen: list[tuple[str, str]]) -> str:
    parts = ["prism-logs", slug]
    for name, value in chosen:
        parts.append(value if name == "range" else f"{name}-{value}")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))[:180]
    return f"{safe}.csv"


@org_view(Capability.VIEW_OVERVIEW)
def log_export(request, access: OrgAccess):
    form = _filters(request, access)
    if not form.is_valid():
        context = _list_context(request, access, form)
        return render(request, "usage/logs.html", context, status=400)
    rows = (
        selectors.request_logs(access.organization, form.log_filter(timezone.now()))
        .order_by(*selectors.REQUEST_LOG_KEYSET.ordering)
        .values_list(*(field for _, field in CSV_COLUMNS))
    )
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([name for name, _ in CSV_COLUMNS])
        # Chunks of 2,000 through a server-side cursor: memory stays flat however many rows.
        for row in rows.iterator(chunk_size=2000):
            yield writer.writerow([_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = _file_name(access.organization.slug, form.chosen())
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
