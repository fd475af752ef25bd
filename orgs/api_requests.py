"""The admin API's per-credential bookkeeping: the rate limit (calls per minute, counted in the
database so every worker shares it) and `Idempotency-Key` replays of creating POSTs."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from orgs import secrets
from orgs.models import ApiCallWindow, IdempotentRequest
from prism_site.api_errors import ApiError
from prism_site.errors import Conflict, RateLimited

WINDOW = timedelta(minutes=1)
IDEMPOTENCY_TTL = timedelta(hours=24)
IDEMPOTENCY_KEY_MAX_LENGTH = 255


# -- Rate limit ---------------------------------------------------------------------------------


def _window_start(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def api_call_count(credential: str, *, now: datetime | None = None) -> tuple[int, datetime]:
    """Count one call of `credential` in the current minute; returns (calls so far, window start).

    One statement (INSERT … ON CONFLICT DO UPDATE … RETURNING, on PostgreSQL and SQLite alike),
    so two workers counting at once both see their own call in the total.
    """
    now = now or timezone.now()
    start = _window_start(now)
    table = connection.ops.quote_name(ApiCallWindow._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (credential, window_start, calls) VALUES (%s, %s, 1) "  # noqa: S608 - the table name is ours
            "ON CONFLICT (credential, window_start) DO UPDATE SET calls = "
            f"{table}.calls + 1 RETURNING calls",
            [credential, start],
        )
        (calls,) = cursor.fetchone()
    if calls == 1:
        # A credential's first call of a minute clears its earlier minutes (no table grows).
        ApiCallWindow.objects.filter(credential=credential, window_start__lt=start).delete()
    return calls, start


def api_rate_limit_check(credential: str, *, now: datetime | None = None) -> None:
    """Raise RateLimited (429 with Retry-After) past ADMIN_API_RATE_LIMIT_PER_MINUTE calls of one
    credential in a calendar minute."""
    now = now or timezone.now()
    limit = settings.ADMIN_API_RATE_LIMIT_PER_MINUTE
    calls, start = api_call_count(credential, now=now)
    if calls > limit:
        retry_after = max(1, int((start + WINDOW - now).total_seconds() + 0.999))
        raise RateLimited(
            f"This credential made more than {limit} admin API calls this minute; retry in "
            f"{retry_after} seconds (ADMIN_API_RATE_LIMIT_PER_MINUTE).",
            retry_after_seconds=retry_after,
        )


# -- Idempotency --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """An API answer as it is replayed: status and JSON body."""

    status: int
    body: dict
    replayed: bool = False

    def response(self, *, secret: bool = False) -> JsonResponse:
        """The answer to send; `secret`: it may hold a new key's secret, so never cached."""
        response = JsonResponse(self.body, status=self.status)
        if self.replayed:
            response["Idempotent-Replayed"] = "true"
        if secret:
            add_never_cache_headers(response)
        return response


def _body_hash(body: bytes) -> str:
    """The same JSON sent again with other spacing or key order counts as the same body."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key_read(header: str | None) -> str | None:
    if header is None:
        return None
    key = header.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"Idempotency-Key: send 1–{IDEMPOTENCY_KEY_MAX_LENGTH} printable characters, such as "
            "a UUID, the same on every retry of one request.",
            param="Idempotency-Key",
        )
    return key


def _replay(row: IdempotentRequest, *, request: str, body_hash: str) -> Answer:
    if row.request != request or row.body_hash != body_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            f"Idempotency-Key: this key was used for another request ({row.request}, another "
            "body) in the last 24 hours; send a new key for a new request.",
            param="Idempotency-Key",
        )
    try:
        plaintext = secrets.decrypt(
            row.ciphertext, key_id=row.key_id, organization_id=row.organization_id_bound
        )
    except secrets.SecretUnavailable:
        raise Conflict(
            "The first answer to this Idempotency-Key can no longer be read (the encryption key "
            "was retired); look the result up instead of retrying.",
            code="idempotency_replay_unavailable",
        ) from None
    return Answer(status=row.status, body=json.loads(plaintext), replayed=True)


def idempotent(
    *,
    credential: str,
    key: str | None,
    request: str,
    body: bytes,
    run: Callable[[], tuple[Answer, int]],
    now: datetime | None = None,
) -> Answer:
    """`run()` once per (credential, key): a retry with the same key and body gets the first
    answer again (status and body, a new key's secret included), and creates nothing; the same
    key with another request is refused (422). Without a key, `run()` simply runs.

    `run` returns (answer, id of the org the answer belongs to, or 0). Only successful answers
    are kept: a refused request changed nothing, so a retry is tried afresh.
    """
    if key is None:
        return run()[0]
    now = now or timezone.now()
    body_hash = _body_hash(body)
    current = IdempotentRequest.objects.filter(
        credential=credential, idempotency_key=key, expires_at__gt=now
    )
    for _attempt in range(2):
        row = current.first()
        if row is not None:
            return _replay(row, request=request, body_hash=body_hash)
        try:
            with transaction.atomic():
                IdempotentRequest.objects.filter(
                    credential=credential, idempotency_key=key, expires_at__lte=now
                ).delete()
                # The row goes in first: a concurrent retry's insert waits on the unique key
                # until this transaction ends, then fails and replays the committed answer (or,
                # if this one failed and rolled back, runs the request itself).
                row = IdempotentRequest.objects.create(
                    credential=credential,
                    idempotency_key=key,
                    request=request[:300],
                    body_hash=body_hash,
                    status=0,
                    created_at=now,
                    expires_at=now + IDEMPOTENCY_TTL,
                )
                answer, organization_id = run()
                row.key_id, row.ciphertext = secrets.encrypt(
                    json.dumps(answer.body, cls=DjangoJSONEncoder), organization_id=organization_id
                )
                row.status, row.organization_id_bound = answer.status, organization_id
                row.save(update_fields=["key_id", "ciphertext", "status", "organization_id_bound"])
                return answer
        except IntegrityError:
            continue
    raise Conflict(
        "Another request with this Idempotency-Key is still being processed; retry it shortly.",
        code="idempotency_key_in_use",
    )


def api_records_purge(*, now: datetime | None = None) -> tuple[int, int]:
    """Delete expired idempotency records and past rate-limit minutes; returns both counts."""
    now = now or timezone.now()
    idempotent_rows, _ = IdempotentRequest.objects.filter(expires_at__lte=now).delete()
    windows, _ = ApiCallWindow.objects.filter(window_start__lt=_window_start(now)).delete()
    return idempotent_rows, windows
