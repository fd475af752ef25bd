"""Benchmark: `GET /v1/orgs/{org_id}/config` on gunicorn + PostgreSQL (credential check, rate
limit upsert, membership and capabilities, the config version) against `/healthz` (the Django
stack and one `SELECT 1`) on the same server with the same client. Prints requests/s of each
and the ratio (goal: the config read at least 0.5x of the bare view); asserts nothing timed.
PostgreSQL only: the server process must see the committed test data.

Run: .venv/bin/python -m pytest -m bench -s tests/benchmarks/admin_api.py
ADMIN_API_BENCH_REQUESTS sets the requests per endpoint (default 3,000), sent by 2 clients at once.
"""

import http.client
import os
import signal
import threading
import time

import pytest

from members.services import access_token_create
from tests.benchmarks.gateway_ingest_http import free_port, start_gunicorn
from tests.factories import add_member, make_organization, make_user
from tests.keys.conftest import make_key, set_org_config

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
        reason="gunicorn reads the committed test database: PostgreSQL only",
    ),
]

REQUESTS = int(os.environ.get("ADMIN_API_BENCH_REQUESTS", "3000"))
CLIENTS = 2
CONFIG = {
    "providers": [
        {
            "name": "openai",
            "type": "openai",
            "api_key": "sk-bench-openai-0000000000001111",
            "models": ["gpt-4o", "gpt-4o-mini"],
        },
        {
            "name": "anthropic",
            "type": "anthropic",
            "api_key": "sk-bench-ant-000000000002222",
            "models": ["claude-sonnet-4-6"],
        },
    ],
    "routing": {"strategy": "weighted", "fallbacks": {"gpt-4o": ["claude-sonnet-4-6"]}},
    "caching": {"enabled": True, "ttl_seconds": 600},
    "rate_limiting": {"enabled": True, "rpm": 1000},
    "budgets": {"enabled": True, "limit": 500, "period": "monthly"},
}


def _hammer(port: int, path: str, headers: dict[str, str], count: int) -> float:
    """`count` GETs of `path` from CLIENTS threads at once (a connection per request, as gunicorn's
    sync workers close each); returns the seconds taken. Every answer must be a 200."""
    failures: list[str] = []

    def client(requests: int) -> None:
        for _ in range(requests):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(f"{path}: {response.status}")
            finally:
                connection.close()

    threads = [threading.Thread(target=client, args=(count // CLIENTS,)) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    assert not failures, failures[:3]
    return seconds


@pytest.mark.django_db(transaction=True)
def test_config_read_against_a_bare_view():
    owner = make_user("bench-owner@example.test")
    organization = make_organization("Bench Org", owner=owner)
    for number in range(20):
        add_member(organization, "member", make_user(f"bench{number}@example.test"))
    set_org_config(organization, CONFIG)
    token = access_token_create(user=owner, name="bench").secret
    key = make_key(organization, owner, name="bench-admin", scopes=["admin"]).secret
    config_path = f"/v1/orgs/{organization.slug}/config"
    port = free_port()
    server = start_gunicorn(port, {"ADMIN_API_RATE_LIMIT_PER_MINUTE": "10000000"})
    rows = []
    try:
        cases = [
            ("/healthz", "/healthz", {}),
            ("config, personal access token", config_path, {"Authorization": f"Bearer {token}"}),
            ("config, admin-scoped key", config_path, {"Authorization": f"Bearer {key}"}),
        ]
        for _label, path, headers in cases:
            _hammer(port, path, headers, 100)  # warm both workers' imports and connections
        for label, path, headers in cases:
            rows.append((label, REQUESTS / _hammer(port, path, headers, REQUESTS)))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    bare = rows[0][1]
    lines = [
        f"{label + ':':<32} {rate:>8,.0f} requests/s  ({rate / bare:.2f}x of /healthz)"
        for label, rate in rows
    ]
    print(
        f"\n{REQUESTS:,} GETs each, {CLIENTS} clients at once (PostgreSQL, gunicorn 2 workers; "
        "goal: the config read at least 0.5x of /healthz)\n" + "\n".join(lines)
    )
