"""Benchmark: the gateway's syncs at 100,000 keys (spread over 50 orgs): a full key sync
(streamed; time and peak memory growth), an incremental sync when nothing changed, a config
poll answered 304, and the open-source gateway's bulk key list. Prints figures; asserts nothing
timed.

Run: .venv/bin/python -m pytest -m bench -s tests/benchmarks/gateway_sync.py
BENCH_SCALE=0.01 runs the same at a hundredth of the size (a quick check of the script).
"""

import json
import os
import resource
import statistics
import time
import tracemalloc
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.benchmarks.bulk_data import add_keys, add_organizations, analyze
from tests.factories import make_user

pytestmark = pytest.mark.bench

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
KEYS = max(10, int(100_000 * SCALE))
ORGS = 50
RUNS = 15
TOKEN = "gw-bench-0123456789abcdefghijklmnopqrstuvwxyz"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _full_sync(client) -> tuple[float, int, str]:
    """(ms, keys, next_cursor), reading the stream as a gateway would: chunk by chunk, never
    holding the whole answer (which would measure the benchmark, not the server)."""
    started = time.perf_counter()
    response = client.get("/v1/gateway/keys", headers=AUTH)
    assert response.status_code == 200
    keys, tail = 0, b""
    for chunk in response.streaming_content:
        keys += chunk.count(b'"status":')
        tail = chunk
    elapsed = (time.perf_counter() - started) * 1000
    cursor = json.loads(b"{" + tail[tail.rindex(b'"next_cursor"') :])["next_cursor"]
    return elapsed, keys, cursor


def _median_ms(request) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = request()
        if response.streaming:
            b"".join(response.streaming_content)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def test_gateway_key_sync_and_config_poll(bench_db, settings):
    settings.GATEWAY_TOKENS = [TOKEN]
    owner = make_user("owner@bench.test")
    base = timezone.now() - timedelta(days=400)
    add_organizations(owner, ORGS, base, tag="gw-bench")
    from orgs.models import Organization

    organizations = list(Organization.objects.filter(slug__startswith="gw-bench"))
    add_keys(organizations, owner, KEYS, base, tag="gwb")
    analyze()
    client = Client()
    _full_sync(client)  # warm: connection, imports, plans

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    _, synced, cursor = _full_sync(client)
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert synced == KEYS
    # Without tracing (it slows allocation-heavy code several times over).
    full_plain_ms = statistics.median(_full_sync(client)[0] for _ in range(3))

    incremental_ms = _median_ms(
        lambda: client.get(f"/v1/gateway/keys?since={cursor}", headers=AUTH)
    )
    unchanged = json.loads(
        b"".join(client.get(f"/v1/gateway/keys?since={cursor}", headers=AUTH).streaming_content)
    )
    assert unchanged["data"] == []

    etag = client.get("/v1/gateway/configs", headers=AUTH)["ETag"]
    poll = {**AUTH, "If-None-Match": etag}
    assert client.get("/v1/gateway/configs", headers=poll).status_code == 304
    poll_ms = _median_ms(lambda: client.get("/v1/gateway/configs", headers=poll))

    started = time.perf_counter()
    compat = client.get("/agentcc/api-keys/bulk/", headers=AUTH)
    compat_bytes = sum(len(chunk) for chunk in compat.streaming_content)
    compat_ms = (time.perf_counter() - started) * 1000
    assert compat.status_code == 200 and compat_bytes > KEYS

    print(f"\nGateway sync, {KEYS:,} keys over {ORGS} orgs")
    print(f"  full key sync (streamed):       {full_plain_ms:8.1f} ms")
    print(f"  peak Python memory during sync: {python_peak / 2**20:8.1f} MB (tracemalloc)")
    print(f"  peak RSS growth during sync:    {rss_growth / 1024:8.1f} MB (ru_maxrss)")
    print(f"  incremental sync, no changes:   {incremental_ms:8.2f} ms (median of {RUNS})")
    print(f"  config poll answered 304:       {poll_ms:8.2f} ms (median of {RUNS})")
    print(f"  open-source gateway's bulk keys: {compat_ms:7.1f} ms (active keys only)")
