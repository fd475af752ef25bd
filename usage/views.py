"""Logs: the org's requests newest first, filtered by a GET form kept in the URL, the rows that
arrived since (follow mode), one request's detail, and the filtered rows as a streamed CSV or
NDJSON file.

Every view reads one org's rows of one time range (at most 31 days) through usage.selectors.
"""

import json
import logging
import re
from datetime import UTC, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from orgs.access import OrgAccess, org_view
from orgs.roles import Capability
from prism_site.csv_export import line_writer, spreadsheet_safe
from prism_site.session_timeouts import session_passive
from prism_site.timezones import zone_label
from usage import selectors
from usage.forms import CUSTOM_RANGE, DEFAULT_RANGE, RANGES, LogFilterForm, local_input

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
# How often the page asks for new requests while "Follow new requests" is on.
FOLLOW_EVERY_SECONDS = 5
EXPORT_COLUMNS = (
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
TIMED_OUT = (
    "These filters took too long to read, so the database stopped. Pick a narrower time range "
    "or add a filter on key, model, status, user or session, then try again."
)


def _filters(request, access: OrgAccess) -> LogFilterForm:
    # Always bound, with a range: a query without one (`?follow=on`) reads, and shows as chosen,
    # the default range, which bounds every query.
    data = request.GET.copy()
    if not data.get("range"):
        data["range"] = DEFAULT_RANGE
    return LogFilterForm(data, organization=access.organization)


def _timeout_ms() -> int:
    return settings.LOGS_STATEMENT_TIMEOUT_MS


def _list_context(request, access: OrgAccess, form: LogFilterForm) -> dict:
    valid = form.is_valid()
    page = None
    timed_out = False
    follow_marker = None
    if valid:
        log_filter = form.log_filter(timezone.now())
        try:
            page = selectors.request_log_page(
                access.organization,
                log_filter,
                cursor=request.GET.get(selectors.REQUEST_LOG_KEYSET.param),
                size=PAGE_SIZE,
                timeout_ms=_timeout_ms(),
            )
        except selectors.LogQueryTimedOut:
            logger.warning("Logs page of %s timed out: %s", access.organization.slug, request.GET)
            timed_out = True
        else:
            _dress(page.rows, request.time_zone)
        if page is not None and page.is_first and form.follows:
            top = page.rows[0] if page.rows else None
            follow_marker = selectors.newest_marker(
                top.started_at if top else log_filter.since, top.pk if top else 0
            )
    return {
        "filters": form,
        "page": page,
        "timed_out": timed_out,
        "timed_out_message": TIMED_OUT,
        "filtered": valid and len(form.chosen()) > 1,
        "follow_marker": follow_marker,
        "follow_every": FOLLOW_EVERY_SECONDS,
        "time_zone_label": zone_label(request.time_zone),
        **_row_links(access),
    }


def _dress(rows, zone) -> None:
    """Each row's time in the viewer's zone and in UTC, and its cost, as the table shows them:
    formatted here in one pass rather than by three template filters per row."""
    for log in rows:
        log.shown_at = log.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        log.utc_iso = log.started_at.astimezone(UTC).isoformat()
        log.cost_shown = f"{log.cost:.6f}"


def _row_links(access: OrgAccess) -> dict:
    """What every row links to, reversed once per page rather than once per row."""
    slug = access.organization.slug
    return {
        "logs_root": reverse("logs:list", args=[slug]),
        "keys_root": reverse("keys:list", args=[slug]),
        # Key pages need the key inventory's capability; Viewers see the key's name only.
        "link_keys": access.can(Capability.VIEW_CONFIG),
    }


@org_view(Capability.VIEW_OVERVIEW)
def log_list(request, access: OrgAccess):
    # A page the database stopped reading is still answered 200: it renders the filters and
    # says what to change, and htmx swaps only successful answers into the table.
    context = _list_context(request, access, _filters(request, access))
    if request.htmx and not request.htmx.boosted:
        return render(request, "usage/logs.html#log-table", context)
    return render(request, "usage/logs.html", context)


@session_passive
@org_view(Capability.VIEW_OVERVIEW)
def log_newer(request, access: OrgAccess):
    """Follow mode's poll: the matching rows above the `after` mark, or 204 when there are none
    (or the filters or the mark are not ones the page wrote, or the read took too long)."""
    form = _filters(request, access)
    after = selectors.read_newest_marker(request.GET.get("after", ""))
    if after is None:
        return HttpResponse(
            "after: the mark of the newest row shown is missing or was changed; reload the page.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    if not form.is_valid():
        return HttpResponse(status=204)
    try:
        newer = selectors.request_logs_newer(
            access.organization,
            form.log_filter(timezone.now()),
            after=after,
            size=PAGE_SIZE,
            timeout_ms=_timeout_ms(),
        )
    except selectors.LogQueryTimedOut:
        logger.warning("Logs follow poll of %s timed out", access.organization.slug)
        return HttpResponse(status=204)
    if not newer.rows:
        return HttpResponse(status=204)
    _dress(newer.rows, request.time_zone)
    top = newer.rows[0]
    context = {
        "newer": newer,
        "follow_marker": selectors.newest_marker(top.started_at, top.pk),
        "follow_every": FOLLOW_EVERY_SECONDS,
        **_row_links(access),
    }
    return render(request, "usage/logs.html#log-newer", context)


def _more_like(slug: str, log, now, **filters) -> str:
    """The Logs page filtered to requests like this one, over a range holding it."""
    if log.started_at >= now - RANGES["30d"]:
        query = {"range": "30d"}
    else:
        half = timedelta(days=15)
        query = {
            "range": CUSTOM_RANGE,
            "from": local_input(log.started_at - half),
            "to": local_input(min(log.started_at + half, now)),
        }
    return f"{reverse('logs:list', args=[slug])}?{urlencode({**query, **filters})}"


@org_view(Capability.VIEW_OVERVIEW)
def log_detail(request, access: OrgAccess, log_id: int):
    log = selectors.request_log_in_organization(access.organization, log_id)
    slug = access.organization.slug
    now = timezone.now()
    context = {
        "log": log,
        "link_keys": access.can(Capability.VIEW_CONFIG),
        "time_zone_label": zone_label(request.time_zone),
        "more_from_key": _more_like(slug, log, now, key=log.key.public_id),
        "more_from_session": _more_like(slug, log, now, session=log.session_id)
        if log.session_id
        else None,
        "more_from_user": _more_like(slug, log, now, user=log.end_user) if log.end_user else None,
    }
    if request.htmx:
        return render(request, "usage/log_detail.html#log-detail", context)
    return render(request, "usage/log_detail.html", context)


def _cell(value):
    """A log value as a CSV cell; text the gateway recorded (models, end users, metadata) is kept
    from running as a spreadsheet formula."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)  # starts with "{": never a formula
    return _utc(value).isoformat() if hasattr(value, "isoformat") else spreadsheet_safe(value)


def _utc(moment):
    # Exports are in UTC whatever the viewer's zone; the database hands back UTC already.
    return moment.astimezone(UTC)


def _json_value(value):
    if hasattr(value, "isoformat"):
        return _utc(value).isoformat()
    if hasattr(value, "quantize"):
        # The exact decimal, as text: a JSON number would go through a float.
        return str(value)
    return value


def _file_name(slug: str, chosen: list[tuple[str, str]], extension: str) -> str:
    parts = ["prism-logs", slug]
    for name, value in chosen:
        parts.append(value if name == "range" else f"{name}-{value}")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))[:180]
    return f"{safe}.{extension}"


def _export(request, access: OrgAccess, *, extension: str, content_type: str, lines):
    form = _filters(request, access)
    if not form.is_valid():
        context = _list_context(request, access, form)
        return render(request, "usage/logs.html", context, status=400)
    rows = (
        selectors.request_logs(access.organization, form.log_filter(timezone.now()))
        .order_by(*selectors.REQUEST_LOG_KEYSET.ordering)
        .values_list(*(field for _, field in EXPORT_COLUMNS))
    )
    # Chunks of 2,000 through a server-side cursor: memory stays flat however many rows.
    response = StreamingHttpResponse(
        lines(rows.iterator(chunk_size=2000)), content_type=content_type
    )
    name = _file_name(access.organization.slug, form.chosen(), extension)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@org_view(Capability.VIEW_OVERVIEW)
def log_export(request, access: OrgAccess):
    writer = line_writer()

    def lines(rows):
        yield writer.writerow([name for name, _ in EXPORT_COLUMNS])
        for row in rows:
            yield writer.writerow([_cell(value) for value in row])

    return _export(
        request, access, extension="csv", content_type="text/csv; charset=utf-8", lines=lines
    )


@org_view(Capability.VIEW_OVERVIEW)
def log_export_ndjson(request, access: OrgAccess):
    names = [name for name, _ in EXPORT_COLUMNS]

    def lines(rows):
        for row in rows:
            values = {name: _json_value(value) for name, value in zip(names, row, strict=True)}
            yield json.dumps(values, ensure_ascii=False, separators=(",", ":")) + "\n"

    return _export(
        request, access, extension="ndjson", content_type="application/x-ndjson", lines=lines
    )
