"""Site-wide views: health check, the API reference page and the error pages Django raises."""

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

from prism_site.error_responses import NOT_FOUND, error_page


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


def api_docs(request):
    """/v1/docs: swagger-ui (vendored, no CDN) reading /v1/openapi.json."""
    return render(request, "api/docs.html", {"openapi_url": reverse("v1:openapi-json")})


def permission_denied(request, exception=None):
    message = (
        str(exception)
        if exception and str(exception)
        else ("Your role in this organization does not allow this.")
    )
    return error_page(request, 403, message)


def page_not_found(request, exception=None):
    return error_page(request, 404, NOT_FOUND)


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
    return error_page(request, 400, "The request could not be understood.")
