"""The JSON APIs' one error envelope, `{"error": {"type", "code", "message", "param"}}`, for
the domain errors services raise (with the statuses the pages use, `error_status`) and for
HTTP-only failures (401, 413) with no domain meaning."""

from collections.abc import Iterable

from django.http import JsonResponse
from ninja import Schema

from prism_site.error_responses import error_status
from prism_site.errors import DomainError, Invalid, RateLimited

# Stripe's error types: a client switches on `type`, shows `message`, points at `param`.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    412: "precondition_failed_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
}


class ErrorDetail(Schema):
    type: str
    code: str
    message: str
    param: str | None


class ErrorEnvelope(Schema):
    """The envelope as the OpenAPI document describes it."""

    error: ErrorDetail


# The failures an admin API route may answer, for its `response=` in the OpenAPI document.
ADMIN_ERRORS = {status: ErrorEnvelope for status in (400, 401, 403, 404, 409, 412, 413, 422, 429)}


class ApiError(Exception):
    """A failure of the HTTP exchange itself (no or a wrong token, a body too large)."""

    def __init__(self, status: int, code: str, message: str, *, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param


def error_body(status: int, *, code: str, message: str, param: str | None = None) -> dict:
    return {
        "error": {
            "type": ERROR_TYPES.get(status, "api_error"),
            "code": code,
            "message": message,
            "param": param,
        }
    }


def error_json(
    status: int, *, code: str, message: str, param: str | None = None, extra: dict | None = None
) -> JsonResponse:
    body = error_body(status, code=code, message=message, param=param)
    return JsonResponse({**(extra or {}), **body}, status=status)


def domain_error_json(error: DomainError, *, extra: dict | None = None) -> JsonResponse:
    """Invalid names its first field path as `param`; RateLimited says when to retry."""
    param = next(iter(error.errors), None) if isinstance(error, Invalid) else None
    response = error_json(
        error_status(error), code=error.code, message=error.message, param=param, extra=extra
    )
    if isinstance(error, RateLimited):
        response["Retry-After"] = str(error.retry_after_seconds)
    return response


def api_error_json(error: ApiError, *, extra: dict | None = None) -> JsonResponse:
    return error_json(
        error.status, code=error.code, message=error.message, param=error.param, extra=extra
    )


def json_path(loc: Iterable[str | int]) -> str:
    """("logs", 3, "model") → "logs[3].model", the form Invalid's paths and the docs use."""
    path = ""
    for step in loc:
        if isinstance(step, int):
            path += f"[{step}]"
        else:
            path += f".{step}" if path else str(step)
    return path


class ApiMethodNotAllowedMiddleware:
    """A method a /v1/ route does not declare gets the envelope too: django-ninja answers it
    with a plain-text 405 of its own, which a client parsing `error` would choke on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or not request.path.startswith("/v1/"):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        allowed = response.get("Allow", "")
        answer = error_json(
            405,
            code="method_not_allowed",
            message=f"{request.method} is not a method of {request.path}; it takes {allowed}.",
        )
        answer["Allow"] = allowed
        return answer
