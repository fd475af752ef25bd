"""Site-wide views: health check and error pages that speak htmx."""

import json

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means the database is unusable
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JsonResponse(
        {"status": "ok" if status == 200 else "error", "database": database}, status=status
    )


def _error(request, status: int, title: str, message: str):
    response = render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "message": message},
        status=status,
    )
    if getattr(request, "htmx", False):
        # htmx does not swap error responses; the toast makes the refusal visible.
        response.headers["HX-Trigger"] = json.dumps(
            {"toast": [{"level": "error", "message": message}]}
        )
    return response


def permission_denied(request, exception=None):
    message = (
        str(exception)
        if exception and str(exception)
        else ("Your role in this organization does not allow this.")
    )
    return _error(request, 403, "Not allowed", message)


def page_not_found(request, exception=None):
    return _error(request, 404, "Not found", "There is nothing here, or you have no access to it.")


def server_error(request):
    return render(
        request,
        "errors/error.html",
        {
            "status": 500,
            "title": "Something went wrong",
            "message": "The error has been logged. Please try again.",
        },
        status=500,
    )


def bad_request(request, exception=None):
    return _error(request, 400, "Bad request", "The request could not be understood.")
