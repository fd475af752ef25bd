"""Reading a gateway's log batch off the wire: the size limits, checked before the body is read
or parsed, and the JSON it must be."""

import json
from decimal import Decimal

from prism_site.api_errors import ApiError
from prism_site.errors import Invalid

MAX_BATCH_ROWS = 5_000
MAX_BATCH_BYTES = 5 * 1024 * 1024


def too_large(message: str) -> ApiError:
    return ApiError(413, "batch_too_large", message, param="logs")


def read_body(request, *, limit: int = MAX_BATCH_BYTES) -> bytes:
    """The raw body, refused with 413 when its Content-Length says it is over `limit` (before
    reading a byte) or when more than `limit` bytes arrive anyway. Read from the stream, not
    `request.body`, whose own cap (DATA_UPLOAD_MAX_MEMORY_SIZE) is the site's, not this API's."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except ValueError:
        raise ApiError(
            400, "invalid_content_length", "Content-Length: must be the body's size in bytes"
        ) from None
    if length > limit:
        raise too_large(
            f"The body is {length} bytes; a batch takes at most {limit} bytes "
            f"({MAX_BATCH_ROWS} rows): send it in smaller batches."
        )
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_large(f"A batch takes at most {limit} bytes: send it in smaller batches.")
    return body


def parse_json(body: bytes, *, decimals: bool = True):
    """The body as JSON; with `decimals`, numbers with a fraction as Decimal so costs keep every
    digit. An integer too long for Python to read (over 4,300 digits) is bad JSON too."""
    try:
        return json.loads(body, parse_float=Decimal if decimals else float)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, an over-long integer
        raise Invalid(
            errors={"": [f'the body must be JSON like {{"logs": [...]}} ({error})']},
            code="invalid_json",
        ) from None


def batch_rows(payload) -> list:
    """`payload["logs"]`, refused (400) unless the body is an object with a list there, and
    (413) beyond MAX_BATCH_ROWS rows."""
    if not isinstance(payload, dict) or not isinstance(payload.get("logs"), list):
        raise Invalid(
            errors={"logs": ['must be a list of request records: send {"logs": [{...}, ...]}']},
            code="invalid_batch",
        )
    rows = payload["logs"]
    check_row_count(len(rows))
    return rows


def check_row_count(count: int) -> None:
    if count > MAX_BATCH_ROWS:
        raise too_large(
            f"The batch has {count} rows; send at most {MAX_BATCH_ROWS} rows per batch."
        )
