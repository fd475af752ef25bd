"""HTTP pieces of the admin API that every app's router shares: the JSON body (413 past its limit,
400 unless it is a JSON object), `If-Match` versions and the `ETag` they answer."""

import json
import re
from collections.abc import Callable

from prism_site.api_errors import ApiError

# A config document with many providers stays far below this; a key's attributes far more so.
MAX_BODY_BYTES = 1024 * 1024
_VERSION_TAG = re.compile(r'(?:W/)?"?(\d{1,9})"?')


def read_body(request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body; 413 when Content-Length says it is over `limit` (before a byte is read) or
    more than `limit` bytes arrive anyway."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or "0")
    except ValueError:
        raise ApiError(
            400, "invalid_content_length", "Content-Length: must be the body's size in bytes"
        ) from None
    if length > limit:
        raise ApiError(
            413,
            "body_too_large",
            f"The body is {length} bytes; this endpoint takes at most {limit} bytes.",
        )
    body = request.read(limit + 1)
    if len(body) > limit:
        raise ApiError(413, "body_too_large", f"This endpoint takes at most {limit} bytes.")
    return body


def json_object(body: bytes, *, parse_int: Callable | None = None) -> dict:
    """The body as a JSON object (an empty body is `{}`); 400 otherwise."""
    try:
        data = json.loads(body or b"{}", parse_int=parse_int)
    except (ValueError, RecursionError) as error:
        raise ApiError(
            400, "invalid_json", f"The body must be a JSON object ({error})."[:300]
        ) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object: {…}.")
    return data


def if_match_version(request) -> int | None:
    """The version an `If-Match` header names (`"7"`, `W/"7"`, `7`); None without one or `*`."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _VERSION_TAG.fullmatch(header.strip())
    if match is None:
        raise ApiError(
            400,
            "invalid_if_match",
            'If-Match: send the ETag of the version you edited, such as "7".',
            param="If-Match",
        )
    return int(match.group(1))


def version_etag(version: int) -> str:
    return f'"{version}"'


def json_body_doc(model) -> dict:
    """`openapi_extra` describing a required JSON body of this pydantic model, for routes that
    read their body themselves (to keep its raw bytes for idempotency and exact field paths)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
