"""Writes of the usage app: ingesting a gateway's batch of request logs into logs and rollups."""

# SQL here is built from table and column names of our own (never from input); every value
# travels as a parameter.
# ruff: noqa: S608

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from keys.models import RetiredSecret, VirtualKey
from usage.alerts import budget_alerts_check
from usage.models import (
    COUNTER_FIELDS,
    LATENCY_BUCKET_FIELDS,
    HourlyRollup,
    KeyDayRollup,
    RequestLog,
    UserDayRollup,
    is_error_status,
    latency_bucket,
)

# -- What a row may hold --------------------------------------------------------------------------

METADATA_MAX_KEYS = 20
METADATA_MAX_KEY_LENGTH = 64
METADATA_MAX_VALUE_LENGTH = 200
ERROR_MAX_LENGTH = 500
# A gateway's clock may run a little ahead of ours; further than this is a wrong timestamp.
FUTURE_TOLERANCE = timedelta(minutes=5)
COST_PLACES = Decimal("1e-10")
COST_MAX = Decimal("1e9")
TOKENS_MAX = 2**31 - 1
# An hour: no request the gateway serves takes longer.
LATENCY_MAX_MS = 3_600_000
# last_used_at moves at most this often per key: one write a minute, not one per batch.
LAST_USED_STEP = timedelta(minutes=1)


# No control or format characters (newlines, NUL, bidi overrides) in names and ids, as
# `orgs.config_schema.visible_text` has it; checked by pydantic's own regex engine, in Rust,
# since a Python check per field of every row costs more than the rest of the validation.
VISIBLE = r"^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$"
Text = Annotated[StrictStr, Field(pattern=VISIBLE)]


class LogRow(BaseModel):
    """One request record as a gateway sends it (SPEC §7). Bodies of prompts and answers have no
    field here and are refused as unknown fields: they are never stored."""

    model_config = ConfigDict(extra="forbid")

    request_id: Annotated[Text, Field(min_length=1, max_length=128)]
    key_id: Annotated[Text, Field(min_length=1, max_length=40)] | None = None
    key_hash: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    model: Annotated[Text, Field(min_length=1, max_length=200)]
    provider: Annotated[Text, Field(min_length=1, max_length=64)]
    status_code: Annotated[StrictInt, Field(ge=0, le=599)]
    latency_ms: Annotated[StrictInt, Field(ge=0, le=LATENCY_MAX_MS)]
    ttft_ms: Annotated[StrictInt, Field(ge=0, le=LATENCY_MAX_MS)] | None = None
    input_tokens: Annotated[StrictInt, Field(ge=0, le=TOKENS_MAX)] = 0
    output_tokens: Annotated[StrictInt, Field(ge=0, le=TOKENS_MAX)] = 0
    cached_tokens: Annotated[StrictInt, Field(ge=0, le=TOKENS_MAX)] = 0
    cost: Annotated[Decimal, Field(ge=0, lt=COST_MAX, allow_inf_nan=False)] = Decimal(0)
    cache_hit: StrictBool = False
    fallback_used: StrictBool = False
    started_at: AwareDatetime
    user: Annotated[Text, Field(max_length=200)] = ""
    session_id: Annotated[Text, Field(max_length=200)] = ""
    # Provider errors can run long; the start says what happened.
    error: StrictStr = ""
    # Labels for filtering (team, feature, trace id): a flat object of short values.
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("cost")
    @classmethod
    def _cost_places(cls, value: Decimal) -> Decimal:
        return value.quantize(COST_PLACES, rounding=ROUND_HALF_EVEN)

    @field_validator("metadata")
    @classmethod
    def _metadata_bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > METADATA_MAX_KEYS:
            raise ValueError(f"at most {METADATA_MAX_KEYS} keys, not {len(value)}; send fewer")
        for name, item in value.items():
            if not 1 <= len(name) <= METADATA_MAX_KEY_LENGTH:
                raise ValueError(
                    f"key {name[:METADATA_MAX_KEY_LENGTH]!r}: names are 1 to "
                    f"{METADATA_MAX_KEY_LENGTH} characters"
                )
            if isinstance(item, str) and len(item) > METADATA_MAX_VALUE_LENGTH:
                raise ValueError(
                    f"{name!r}: at most {METADATA_MAX_VALUE_LENGTH} characters; shorten it"
                )
            if item is not None and not isinstance(item, str | int | float | bool):
                raise ValueError(f"{name!r}: must be a string, number, true/false or null")
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"{name!r}: must be a finite number")
        return value

    @field_validator("error")
    @classmethod
    def _error_short(cls, value: str) -> str:
        # Provider messages carry newlines and tabs: kept as one line of text.
        value = value[:ERROR_MAX_LENGTH]
        return (
            value if value.isprintable() else "".join(c if c.isprintable() else " " for c in value)
        )

    @field_validator("started_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _names_its_key(self):
        if self.key_id is None and self.key_hash is None:
            raise ValueError("name the key: key_id (its public id) or key_hash (its secret hash)")
        return self


# Friendlier words than pydantic's for the mistakes gateways make.
FIXES = {
    "missing": "is required",
    "extra_forbidden": "is not a field of a log row; remove it (request and response bodies "
    "are never stored)",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "timezone_aware": "must carry its time zone, e.g. 2026-01-31T12:00:00Z",
    "string_unicode": "must be valid Unicode text (a lone surrogate is not); fix the encoding",
    "string_pattern_mismatch": "must not contain control characters (newlines, tabs, NUL); "
    "remove them",
}


@dataclass(frozen=True)
class RowRejection:
    index: int  # position of the row in the batch
    field: str  # the field at fault ("key_id", "started_at", … or "" for the row)
    reason: str  # what is wrong and how to fix it


@dataclass(frozen=True)
class IngestResult:
    accepted: int  # new rows stored
    duplicates: int  # rows already stored (a retried batch): changed nothing
    rejected: list[RowRejection]


def _rejections(index: int, error: ValidationError) -> list[RowRejection]:
    found = []
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        field = ".".join(str(part) for part in loc)
        reason = FIXES.get(detail["type"], detail["msg"])
        if detail["type"] == "value_error":
            reason = detail["msg"].removeprefix("Value error, ")
        found.append(RowRejection(index=index, field=field, reason=reason))
    return found


@dataclass
class _Row:
    index: int
    row: LogRow
    organization_id: int = 0
    key_pk: int = 0


# -- Ingest ---------------------------------------------------------------------------------------


def logs_ingest(*, rows: Sequence[Mapping[str, Any]], now: datetime | None = None) -> IngestResult:
    """Store a gateway's batch of request logs; each row goes to the org of its own key.

    Bad rows are reported (index, field, reason) and the others kept. Idempotent: a row whose
    `(org, request_id, started_at)` is already stored is a duplicate and changes nothing, so a
    retried batch leaves logs and rollups as they were. In one transaction: the new rows, one
    upsert per rollup table, and `last_used_at` of the keys used (at most once a minute).
    """
    now = now or timezone.now()
    rejected: list[RowRejection] = []
    valid: list[_Row] = []
    oldest = now - timedelta(days=settings.REQUEST_LOG_RETENTION_DAYS)
    for index, raw in enumerate(rows):
        if not isinstance(raw, Mapping):
            rejected.append(RowRejection(index, "", "must be an object of log fields"))
            continue
        try:
            row = LogRow.model_validate(raw)
        except ValidationError as error:
            rejected.extend(_rejections(index, error))
            continue
        if row.started_at > now + FUTURE_TOLERANCE:
            rejected.append(
                RowRejection(
                    index,
                    "started_at",
                    "is in the future; send when the request started, with its time zone",
                )
            )
            continue
        if row.started_at < oldest:
            rejected.append(
                RowRejection(
                    index,
                    "started_at",
                    f"is older than the {settings.REQUEST_LOG_RETENTION_DAYS} days logs are "
                    "kept; such a row would be deleted at once",
                )
            )
            continue
        valid.append(_Row(index, row))

    rejected.extend(_attach_keys(valid))
    valid = [item for item in valid if item.key_pk]

    # One row per (org, request id) in a batch: a repeat is a duplicate if it is the same
    # request (same start), and a mistake if not.
    first_seen: dict[tuple[int, str], datetime] = {}
    unique: list[_Row] = []
    duplicates = 0
    for item in valid:
        seen = first_seen.get((item.organization_id, item.row.request_id))
        if seen is None:
            first_seen[(item.organization_id, item.row.request_id)] = item.row.started_at
            unique.append(item)
        elif seen == item.row.started_at:
            duplicates += 1
        else:
            rejected.append(
                RowRejection(
                    item.index,
                    "request_id",
                    "appears twice in this batch with different started_at; "
                    "each request has one id",
                )
            )

    # In key order, as the rollups are: two gateways sending overlapping batches at once take
    # their index locks in one order, so neither waits on the other in a cycle.
    unique.sort(key=lambda item: (item.organization_id, item.row.request_id))
    with transaction.atomic():
        new = _insert_new(unique, now) if unique else []
        duplicates += len(unique) - len(new)
        if new:
            _rollups_add(new)
            _last_used_move(new, now)
            budget_alerts_check(
                organization_ids={item.organization_id for item in new},
                key_ids={item.key_pk for item in new},
                now=now,
            )
    rejected.sort(key=lambda rejection: rejection.index)
    return IngestResult(accepted=len(new), duplicates=duplicates, rejected=rejected)


def _attach_keys(items: list[_Row]) -> list[RowRejection]:
    """Sets each row's key and org (two queries at most); returns the rows naming no key."""
    ids = {item.row.key_id for item in items if item.row.key_id is not None}
    hashes = {item.row.key_hash for item in items if item.row.key_hash is not None}
    by_id: dict[str, tuple[int, int]] = {}
    by_hash: dict[str, tuple[int, int]] = {}
    if ids or hashes:
        for pk, public_id, secret_hash, organization_id in VirtualKey.objects.filter(
            Q(public_id__in=ids) | Q(secret_hash__in=hashes)
        ).values_list("pk", "public_id", "secret_hash", "organization_id"):
            by_id[public_id] = by_hash[secret_hash] = (pk, organization_id)
    missing_hashes = hashes - by_hash.keys()
    if missing_hashes:
        # A secret retired by a rotation still works during its grace period.
        for secret_hash, pk, organization_id in RetiredSecret.objects.filter(
            secret_hash__in=missing_hashes
        ).values_list("secret_hash", "key_id", "key__organization_id"):
            by_hash[secret_hash] = (pk, organization_id)

    rejected = []
    for item in items:
        key_id, key_hash = item.row.key_id, item.row.key_hash
        from_id = by_id.get(key_id) if key_id is not None else None
        from_hash = by_hash.get(key_hash) if key_hash is not None else None
        if key_id is not None and from_id is None:
            rejected.append(
                RowRejection(item.index, "key_id", "names no key; send the key's public id")
            )
        elif key_hash is not None and from_hash is None:
            rejected.append(
                RowRejection(
                    item.index, "key_hash", "matches no key; send the hash the key sync gave"
                )
            )
        elif from_id and from_hash and from_id != from_hash:
            rejected.append(
                RowRejection(
                    item.index, "key_hash", "is another key's than key_id's; send one of them"
                )
            )
        else:
            item.key_pk, item.organization_id = from_id or from_hash
    return rejected


# Columns written for a new log row, in order, with their PostgreSQL types.
LOG_COLUMNS = (
    ("organization_id", "bigint"),
    ("key_id", "bigint"),
    ("request_id", "text"),
    ("model", "text"),
    ("provider", "text"),
    ("status_code", "smallint"),
    ("latency_ms", "integer"),
    ("ttft_ms", "integer"),
    ("input_tokens", "integer"),
    ("output_tokens", "integer"),
    ("cached_tokens", "integer"),
    ("cost", "numeric"),
    ("cache_hit", "boolean"),
    ("fallback_used", "boolean"),
    ("started_at", "timestamptz"),
    ("end_user", "text"),
    ("session_id", "text"),
    ("error", "text"),
    ("metadata", "jsonb"),
    ("ingested_at", "timestamptz"),
)
# Rows per statement on SQLite, which binds at most 32,766 parameters in one.
SQLITE_CHUNK_ROWS = 1_000


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


# A column of a batch travels to PostgreSQL as one string, its values joined by a separator no
# value holds (text that reaches here has no control characters; JSON escapes them), and is
# split there by string_to_array. A leading separator keeps a lone empty string from becoming
# an empty array; NULL_MARK stands for NULL.
TEXT_SEPARATOR = "\x1f"
NULL_MARK = "\x1e"


def _pg_column(kind: str, values: Sequence[Any]) -> str:
    """One column of the batch as the string string_to_array splits again (see TEXT_SEPARATOR)."""
    if kind in ("text", "jsonb"):
        texts = values
    elif kind == "boolean":
        texts = ["t" if value else "f" for value in values]
    elif kind in ("timestamptz", "date"):
        texts = [value.isoformat() for value in values]
    else:  # numbers
        texts = [NULL_MARK if value is None else str(value) for value in values]
    return TEXT_SEPARATOR + TEXT_SEPARATOR.join(texts)


def _row_sources(
    columns: Sequence[tuple[str, str]], rows: list[tuple]
) -> Iterable[tuple[str, list]]:
    """(SELECT or VALUES clause, parameters) feeding `rows` to an INSERT.

    PostgreSQL gets the batch in one statement of one parameter per column: each column's
    values as one string, split into an array and `unnest`ed. A VALUES list of 20,000
    placeholders, or lists adapted to arrays by the driver, cost more in Python than the insert
    costs the server. SQLite gets VALUES lists of SQLITE_CHUNK_ROWS rows."""
    if connection.vendor == "postgresql":
        arrays = ", ".join(
            f"((string_to_array(%s, E'\\x1f', E'\\x1e'))[2:])::"
            f"{'text' if kind == 'jsonb' else kind}[]"
            for _, kind in columns
        )
        names = ", ".join(f"c{index}" for index in range(len(columns)))
        picked = ", ".join(
            f"c{index}::jsonb" if kind == "jsonb" else f"c{index}"
            for index, (_, kind) in enumerate(columns)
        )
        params = [
            _pg_column(kind, values)
            for (_, kind), values in zip(columns, zip(*rows, strict=True), strict=True)
        ]
        yield f"SELECT {picked} FROM unnest({arrays}) AS batch({names})", params
        return
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(rows), SQLITE_CHUNK_ROWS):
        chunk = rows[start : start + SQLITE_CHUNK_ROWS]
        yield (
            "VALUES " + ", ".join([placeholders] * len(chunk)),
            [_adapt(value) for row in chunk for value in row],
        )


def _insert_new(items: list[_Row], now: datetime) -> list[_Row]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the rows this batch stored for the first time
    (PostgreSQL and SQLite ≥ 3.35 both speak it)."""
    rows = [
        (
            item.organization_id,
            item.key_pk,
            item.row.request_id,
            item.row.model,
            item.row.provider,
            item.row.status_code,
            item.row.latency_ms,
            item.row.ttft_ms,
            item.row.input_tokens,
            item.row.output_tokens,
            item.row.cached_tokens,
            item.row.cost,
            item.row.cache_hit,
            item.row.fallback_used,
            item.row.started_at,
            item.row.user,
            item.row.session_id,
            item.row.error,
            json.dumps(item.row.metadata),
            now,
        )
        for item in items
    ]
    table = _quote(RequestLog._meta.db_table)
    columns = ", ".join(_quote(column) for column, _ in LOG_COLUMNS)
    by_key = {(item.organization_id, item.row.request_id): item for item in items}
    new = []
    with connection.cursor() as cursor:
        for source, params in _row_sources(LOG_COLUMNS, rows):
            cursor.execute(
                f"INSERT INTO {table} ({columns}) {source} "
                "ON CONFLICT (organization_id, request_id, started_at) DO NOTHING "
                "RETURNING organization_id, request_id",
                params,
            )
            new += [by_key[(organization_id, request_id)] for organization_id, request_id in cursor]
    return new


def _counters(rows: Iterable[LogRow], *, histogram: bool) -> dict[str, Any]:
    counters: dict[str, Any] = dict.fromkeys(COUNTER_FIELDS, 0)
    counters["cost"] = Decimal(0)
    buckets = [0] * len(LATENCY_BUCKET_FIELDS)
    for row in rows:
        counters["requests"] += 1
        counters["errors"] += is_error_status(row.status_code)
        counters["input_tokens"] += row.input_tokens
        counters["output_tokens"] += row.output_tokens
        counters["cached_tokens"] += row.cached_tokens
        counters["cost"] += row.cost
        counters["latency_sum_ms"] += row.latency_ms
        counters["cache_hits"] += row.cache_hit
        counters["fallbacks"] += row.fallback_used
        if histogram:
            buckets[latency_bucket(row.latency_ms)] += 1
    if histogram:
        counters.update(zip(LATENCY_BUCKET_FIELDS, buckets, strict=True))
    return counters


def _rollups_add(items: list[_Row]) -> None:
    """One additive upsert per rollup table for the batch's new rows, grouped in Python first."""
    hourly: dict[tuple, list[LogRow]] = defaultdict(list)
    key_day: dict[tuple, list[LogRow]] = defaultdict(list)
    user_day: dict[tuple, list[LogRow]] = defaultdict(list)
    for item in items:
        row = item.row
        hour = row.started_at.replace(minute=0, second=0, microsecond=0)
        day = row.started_at.date()
        hourly[(item.organization_id, hour, row.model, row.provider)].append(row)
        key_day[(item.organization_id, item.key_pk, day)].append(row)
        user_day[(item.organization_id, row.user, day)].append(row)
    _upsert(
        HourlyRollup,
        ("organization_id", "hour", "model", "provider"),
        {key: _counters(rows, histogram=True) for key, rows in hourly.items()},
    )
    _upsert(
        KeyDayRollup,
        ("organization_id", "key_id", "day"),
        {key: _counters(rows, histogram=False) for key, rows in key_day.items()},
    )
    _upsert(
        UserDayRollup,
        ("organization_id", "end_user", "day"),
        {key: _counters(rows, histogram=False) for key, rows in user_day.items()},
    )


def _adapt(value: Any) -> Any:
    """A value as SQLite stores it (PostgreSQL's driver adapts Python values itself)."""
    ops = connection.ops
    if isinstance(value, datetime):
        return ops.adapt_datetimefield_value(value)
    if isinstance(value, Decimal):
        return ops.adapt_decimalfield_value(value, 20, 10)
    if isinstance(value, date):
        return ops.adapt_datefield_value(value)
    return value


# PostgreSQL types of the rollup columns.
ROLLUP_TYPES = {
    "organization_id": "bigint",
    "key_id": "bigint",
    "hour": "timestamptz",
    "day": "date",
    "model": "text",
    "provider": "text",
    "end_user": "text",
    "cost": "numeric",
}


def _upsert(model, key_columns: tuple[str, ...], groups: dict[tuple, dict[str, Any]]) -> None:
    """INSERT … ON CONFLICT (key) DO UPDATE SET n = table.n + excluded.n, in key order (so two
    batches upserting the same rows at once take their locks in one order: no deadlock)."""
    if not groups:
        return
    table = _quote(model._meta.db_table)
    counter_columns = list(next(iter(groups.values())))
    columns = [
        (column, ROLLUP_TYPES.get(column, "bigint")) for column in [*key_columns, *counter_columns]
    ]
    updates = ", ".join(
        f"{_quote(column)} = {table}.{_quote(column)} + excluded.{_quote(column)}"
        for column in counter_columns
    )
    conflict = ", ".join(_quote(column) for column in key_columns)
    names = ", ".join(_quote(column) for column, _ in columns)
    ordered = sorted(groups.items(), key=lambda group: tuple(str(part) for part in group[0]))
    rows = [(*key, *(counters[column] for column in counter_columns)) for key, counters in ordered]
    with connection.cursor() as cursor:
        for source, params in _row_sources(columns, rows):
            cursor.execute(
                f"INSERT INTO {table} ({names}) {source} "
                f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
                params,
            )


def _last_used_move(items: list[_Row], now: datetime) -> None:
    """One UPDATE for every key of the batch, and only keys last marked over a minute ago."""
    latest: dict[int, datetime] = {}
    for item in items:
        # A gateway clock a little ahead never marks a key used in the future.
        used = min(item.row.started_at, now)
        if used > latest.get(item.key_pk, datetime.min.replace(tzinfo=UTC)):
            latest[item.key_pk] = used
    ops = connection.ops
    is_postgresql = connection.vendor == "postgresql"
    stamp = "CAST(%s AS timestamp with time zone)" if is_postgresql else "%s"
    values = ", ".join([f"(%s, {stamp}, {stamp})"] * len(latest))
    params: list = []
    for key_pk, used in sorted(latest.items()):
        params += [
            key_pk,
            ops.adapt_datetimefield_value(used),
            ops.adapt_datetimefield_value(used - LAST_USED_STEP),
        ]
    table = _quote(VirtualKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH used (key_id, used_at, threshold) AS (VALUES {values}) "
            f"UPDATE {table} SET last_used_at = used.used_at FROM used "
            f"WHERE {table}.id = used.key_id AND ({table}.last_used_at IS NULL "
            f"OR {table}.last_used_at < used.threshold)",
            params,
        )
