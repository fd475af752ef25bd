"""The one place domain errors become dashboard answers: a status, a page, an htmx toast.

Views that show a refusal on their own page pass `page` (a function from the message to the
page's response); everything else, and any domain error a view lets through, gets the site's
error page. htmx requests get the status with a toast, since htmx swaps no error response.
"""

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django_htmx.http import trigger_client_event

from prism_site.errors import Conflict, DomainError, Invalid, NotFound, RateLimited, Refused

# What a 404 says, whether the thing is missing or the caller may not know it exists.
NOT_FOUND = "There is nothing here, or you have no access to it."

STATUS = {NotFound: 404, Refused: 403, Conflict: 409, Invalid: 400, RateLimited: 429}
TITLES = {
    404: "Not found",
    403: "Not allowed",
    409: "Conflict",
    400: "Bad request",
    429: "Too many requests",
}


def error_status(error: DomainError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def error_page(request, status: int, message: str, *, title: str = ""):
    """The site's error page; on htmx requests the message also goes out as a toast."""
    response = render(
        request,
        "errors/error.html",
        {"status": status, "title": title or TITLES.get(status, "Error"), "message": message},
        status=status,
    )
    if getattr(request, "htmx", False):
        response.headers["HX-Trigger"] = json.dumps(
            {"toast": [{"level": "error", "message": message}]}
        )
    return response


def error_response(request, error: DomainError, *, page=None, status: int | None = None):
    """The answer to `error`: a toast for htmx (the element keeps its state and any open dialog
    closes), else `page(message, status)` or the site's error page."""
    status = status or error_status(error)
    if getattr(request, "htmx", False):
        messages.error(request, error.message)
        response = trigger_client_event(HttpResponse(status=status), "closeDialog", {})
    elif page is not None:
        response = page(error.message, status)
    else:
        response = error_page(request, status, error.message)
    if isinstance(error, RateLimited):
        response["Retry-After"] = str(error.retry_after_seconds)
    return response


def form_add_invalid(form, error: Invalid) -> None:
    """Put each message beside its field (the first part of its path), the rest above the form;
    the form then re-renders with them, as any validation error does."""
    for path, texts in error.errors.items():
        name = path.split(".")[0] if path else None
        form.add_error(name if name in form.fields else None, texts)


class DomainErrorMiddleware:
    """A domain error no view handled becomes its status and the error page, never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):
            return error_page(request, error_status(exception), exception.message)
        return None
