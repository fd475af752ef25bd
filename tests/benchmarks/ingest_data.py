"""What the ingestion benchmarks share: orgs with keys and their traffic rows, and `COPY` of the
same rows into the log table (validated beforehand, no rollups: the floor to compare with)."""

import json

from django.db import connection
from django.utils import timezone

from tests.factories import make_organization, make_user
from tests.keys.conftest import make_key
from usage.demo_traffic import traffic_rows
from usage.models import RequestLog
from usage.services import LOG_COLUMNS, LogRow


def keys_and_rows(count: int, *, prefix: str, days: int = 10):
    """Three orgs of four keys each, and `count` rows of their traffic over `days` days."""
    owner = make_user(f"owner-{prefix}@bench.test")
    organizations = [make_organization(f"Bench {prefix} {n}", owner=owner) for n in range(3)]
    keys = [make_key(org, owner, f"key {n}").key for org in organizations for n in range(4)]
    rows = list(
        traffic_rows(
            key_ids=[key.public_id for key in keys],
            key_weights=[1] * len(keys),
            end=timezone.now(),
            days=days,
            per_day=int(count / days / 0.98),
            request_prefix=prefix,
        )
    )[:count]
    return keys, rows


def copy_records(rows, keys, *, request_prefix: str = "") -> list[tuple]:
    """The rows as the log table's columns (LOG_COLUMNS), ready for COPY."""
    by_public_id = {key.public_id: key for key in keys}
    ingested_at = timezone.now()
    records = []
    for raw in rows:
        row = LogRow.model_validate({**raw, "request_id": request_prefix + raw["request_id"]})
        key = by_public_id[row.key_id]
        records.append(
            (
                key.organization_id, key.pk, row.request_id, row.model, row.provider,
                row.status_code, row.latency_ms, row.ttft_ms, row.input_tokens,
                row.output_tokens, row.cached_tokens, row.cost, row.cache_hit,
                row.fallback_used, row.started_at, row.user, row.session_id, row.error,
                json.dumps(row.metadata), ingested_at,
            )
        )  # fmt: skip
    return records


def copy(records: list[tuple]) -> None:
    columns = ", ".join(column for column, _ in LOG_COLUMNS)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {RequestLog._meta.db_table} ({columns}) FROM STDIN") as copying,
    ):
        for record in records:
            copying.write_row(record)
