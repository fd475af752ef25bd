"""Benchmark: Settings > Organization, its History page and a section save with 40 providers
and 100 versions. Prints query counts and times; asserts nothing timed.

Run: .venv/bin/python -m pytest -m bench -s tests/orgs/test_config_page_bench.py
"""

import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orgs import provider_hosts, services
from prism_site.actor import Actor

pytestmark = pytest.mark.bench

RUNS = 20
PROVIDERS = 40
VERSIONS = 100


def timed(action) -> tuple[float, float]:
    timings = []
    for run in range(RUNS):
        started = time.perf_counter()
        action(run)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), max(timings)


def test_settings_page_history_and_save(client, organization, owner, monkeypatch):
    monkeypatch.setattr(provider_hosts, "resolve", lambda host: ["93.184.215.14"])
    for number in range(PROVIDERS):
        services.config_provider_save(
            organization=organization,
            actor=Actor(owner),
            base_version=None,
            original_name=None,
            values={
                "name": f"provider-{number}",
                "type": "openai",
                "api_key": f"sk-bench-{number:024}",
                "models": [f"model-{number}-{i}" for i in range(5)],
            },
        )
    for number in range(VERSIONS - PROVIDERS - 1):
        services.config_section_update(
            organization=organization,
            actor=Actor(owner),
            base_version=None,
            section="budgets",
            values={"enabled": True, "limit": number + 1},
        )
    client.force_login(owner)
    print(f"\n{PROVIDERS} providers, {VERSIONS} versions, {connection.vendor}")
    for label, url in (
        ("settings page", reverse("orgs:settings", args=[organization.slug])),
        ("history page", reverse("orgs:config_history", args=[organization.slug])),
    ):
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        # Counted now: the next request resets the connection's query log.
        count = len(queries)
        median, worst = timed(lambda run, url=url: client.get(url))
        print(f"{label:<14} {count:>2} queries  median {median:6.1f} ms  max {worst:6.1f} ms")

    def save(run):
        services.config_section_update(
            organization=organization,
            actor=Actor(owner),
            base_version=None,
            section="caching",
            values={"ttl_seconds": 100 + run},
        )

    with CaptureQueriesContext(connection) as queries:
        save(RUNS)
    count = len(queries)
    median, worst = timed(save)
    print(f"section save   {count:>2} queries  median {median:6.1f} ms  max {worst:6.1f} ms")
