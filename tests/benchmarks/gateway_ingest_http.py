"""Benchmark: request logs posted over HTTP to `POST /v1/gateway/logs` on gunicorn + PostgreSQL in
batches of 1,000 (JSON parse, token check, validation, insert, rollups), against `COPY` of the same
rows into the same partitioned table. Prints rows/s and the ratio (goal: at least 0.3x of COPY);
asserts nothing timed. PostgreSQL only: the server process must see the committed test data.

Run: .venv/bin/python -m pytest -m bench -s tests/benchmarks/gateway_ingest_http.py
USAGE_BENCH_ROWS sets the number of rows (default 50,000).
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from gateway.simulate import deliver, post_batch
from tests.benchmarks.ingest_data import copy, copy_records, keys_and_rows

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
        reason="gunicorn reads the committed test database: PostgreSQL only",
    ),
]

ROWS = int(os.environ.get("USAGE_BENCH_ROWS", "50000"))
BATCH = 1_000
CLIENTS = 2
TOKEN = "bench-gateway-token-0123456789abcdef0123456789"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """gunicorn (2 workers) on 127.0.0.1:`port` over the test database, ready when it returns."""
    settings = connection.settings_dict
    database_url = (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GATEWAY_TOKENS": TOKEN,
        "SECRET_KEY": "bench-" + "x" * 50,
        "PROVIDER_SECRET_KEYS": "hhYtMnRw3S2b68dCXQvg2IQAhrygBfZ0WHZgwOeKjMc",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        **(extra_env or {}),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "prism_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


@pytest.mark.django_db(transaction=True)
def test_http_ingestion_against_copy():
    keys, rows = keys_and_rows(ROWS, prefix="http")
    port = free_port()
    server = start_gunicorn(port)
    try:
        base_url = f"http://127.0.0.1:{port}"
        post_batch(base_url, TOKEN, rows[:1])  # warm both workers' imports and connections
        # As gateways do: several post at once (here one per server worker).
        delivery = deliver(base_url, TOKEN, rows[1:], batch=BATCH, clients=CLIENTS)
        assert delivery.rejected == 0
        accepted, http_seconds = delivery.accepted, delivery.seconds
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert accepted == len(rows) - 1
    # The same rows under other request ids (the HTTP ones are stored), copied in one go.
    records = copy_records(rows, keys, request_prefix="copy-")
    started = time.perf_counter()
    copy(records)
    copy_seconds = time.perf_counter() - started
    http_rate = accepted / http_seconds
    copy_rate = len(rows) / copy_seconds
    print(
        f"\n{len(rows):,} rows, {len(keys)} keys in 3 orgs, "
        f"batches of {BATCH:,} (PostgreSQL, gunicorn 2 workers, {CLIENTS} clients at once)\n"
        f"POST /v1/gateway/logs: {http_rate:>10,.0f} rows/s ({http_seconds:.2f} s)\n"
        f"COPY:                  {copy_rate:>10,.0f} rows/s ({copy_seconds:.2f} s)\n"
        f"ratio: {http_rate / copy_rate:.2f}x of COPY (goal: at least 0.3x)"
    )
