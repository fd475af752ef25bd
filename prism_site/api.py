"""The one JSON API at /v1/ (django-ninja): each app's router mounted here, every failure answered
with the one error envelope (prism_site/api_errors.py), never a page.

Callers authenticate with a bearer credential per route, never a session (so no CSRF): the
gateway routes take a service token, the admin routes an admin-scoped key or a personal access
token (members.api.AdminCredential). The OpenAPI document is at /v1/openapi.json, its docs page at
/v1/docs (prism_site/views.py, swagger-ui served from static/vendor/).
"""

import logging

from django.http import Http404
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestValidationError

from gateway.api import router as gateway_router
from keys.api import router as keys_router
from members.api import AdminCredential
from members.api import router as members_router
from orgs.api import router as orgs_router
from prism_site.api_errors import ApiError, api_error_json, domain_error_json, error_json, json_path
from prism_site.errors import DomainError
from usage.api import router as usage_router

logger = logging.getLogger("prism_site.api")

# Where a request part lives in ninja's error locations; the path the caller needs starts after.
_LOCATIONS = {"query", "path", "header", "cookie", "form", "file"}

api = NinjaAPI(
    title="Prism control plane API",
    version="1",
    description="Admin and gateway API of the Prism control plane.",
    urls_namespace="v1",
    docs_url=None,
)
api.add_router("/gateway/", gateway_router)
api.add_router("/", orgs_router, auth=AdminCredential())
api.add_router("/", keys_router, auth=AdminCredential())
api.add_router("/", members_router, auth=AdminCredential())
api.add_router("/", usage_router, auth=AdminCredential())


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    return domain_error_json(exc)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return api_error_json(exc)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    # The auth class logged the refusal with the client's address; the answer names no reason a
    # prober could use beyond "this token does not open this API".
    return error_json(
        401,
        code="invalid_token",
        message="Send a valid token as `Authorization: Bearer <token>`.",
    )


@api.exception_handler(RequestValidationError)
def _invalid_request(request, exc: RequestValidationError):
    first = exc.errors[0] if exc.errors else {}
    loc = list(first.get("loc", ()))
    if loc and loc[0] == "body":
        loc = loc[2:]  # ("body", <parameter name>, field, ...)
    elif loc and loc[0] in _LOCATIONS:
        loc = loc[1:]
    param = json_path(loc) or None
    message = first.get("msg", "The request is not valid.")
    return error_json(
        422,
        code="invalid",
        message=f"{param}: {message}" if param else message,
        param=param,
    )


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_json(404, code="not_found", message="There is nothing here.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error_json(exc.status_code, code="http_error", message=str(exc))


@api.exception_handler(Exception)
def _server_error(request, exc):
    logger.exception("Unhandled error on %s %s", request.method, request.path)
    return error_json(500, code="server_error", message="The error has been logged; try again.")


@csrf_exempt
def unknown_path(request, rest: str = ""):
    """Any other /v1/ path: the API's 404, not the site's page."""
    return error_json(
        404,
        code="unknown_path",
        message=f"No API endpoint at {request.path}; see /v1/openapi.json.",
    )
