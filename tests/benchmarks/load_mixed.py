"""Load run: people of every role on the dashboard, scripts on the admin API and gateways posting
request logs, all at once for a bounded time (Locust, `tests/benchmarks/locustfile.py`) against
gunicorn (2 workers) + PostgreSQL on loopback. Prints each endpoint's requests, failures and
p50/p95/p99, and accounts for what was written: every log row the gateways got accepted is in
the org's request log and in each of its rollups, every key created and config saved is there.

Asserts what is correctness, not speed: an error rate under 0.1 % and every row, key and config
version accounted for. The timings are printed only. PostgreSQL only: the server processes must
see the committed seed.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/prism \
     .venv/bin/python -m pytest -m bench -s tests/benchmarks/load_mixed.py
LOAD_USERS (20), LOAD_SECONDS (60) and LOAD_SPAWN_RATE (10 a second) shape the run.
"""

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import Sum
from django.utils import timezone

from keys.models import VirtualKey
from members.services import access_token_create
from orgs.models import ConfigVersion
from orgs.roles import Role
from tests.benchmarks.gateway_ingest_http import ROOT, TOKEN, free_port, start_gunicorn
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.keys.conftest import make_key, set_org_config
from usage.demo_traffic import traffic_rows
from usage.models import HourlyRollup, KeyDayRollup, RequestLog, UserDayRollup
from usage.services import logs_ingest

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").split(":")[0] not in ("postgres", "postgresql"),
        reason="gunicorn reads the committed test database: PostgreSQL only",
    ),
]

USERS = int(os.environ.get("LOAD_USERS", "20"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
SPAWN_RATE = int(os.environ.get("LOAD_SPAWN_RATE", "10"))
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# The provider-secret key both this process (which seals the seed's secrets) and gunicorn use.
PROVIDER_SECRET_KEY = "hhYtMnRw3S2b68dCXQvg2IQAhrygBfZ0WHZgwOeKjMc"
MAX_ERROR_RATE = 0.001
CONFIG = {
    "providers": [
        {
            "name": "openai-main",
            "type": "openai",
            "api_key": "sk-load-openai-0000000000001111",
            "models": ["gpt-4o", "gpt-4o-mini"],
        },
        {
            "name": "anthropic-main",
            "type": "anthropic",
            "api_key": "sk-load-ant-000000000002222",
            "models": ["claude-sonnet-4", "claude-haiku-4"],
        },
    ],
    "routing": {"strategy": "weighted", "fallbacks": {"gpt-4o": ["claude-sonnet-4"]}},
    "rate_limiting": {"enabled": True, "rpm": 10_000},
    "budgets": {"enabled": True, "limit": 100_000, "period": "monthly"},
}


def seed(directory: Path) -> dict:
    """The org the load runs against, committed: three people of each role (each dashboard user
    signs in as one), four gateway keys with a week of traffic (and its rollups), and four admin
    API credentials (personal access tokens of an Owner and an Admin, admin-scoped keys of
    another Owner and Admin)."""
    people = {role: [] for role in Role}
    owner = make_user("load-owner-1@example.test", display_name="Load Owner 1")
    organization = make_organization("Load Co", owner=owner)
    people[Role.OWNER].append(owner)
    for role in Role:
        while len(people[role]) < 3:
            number = len(people[role]) + 1
            user = make_user(f"load-{role}-{number}@example.test")
            people[role].append(add_member(organization, role, user))
    set_org_config(organization, CONFIG, actor=owner)
    gateway_keys = [
        make_key(organization, people[Role.MEMBER][n % 3], name=f"service-{n}").key.public_id
        for n in range(4)
    ]
    history = list(
        traffic_rows(
            key_ids=gateway_keys,
            key_weights=[4, 3, 2, 1],
            end=timezone.now() - timedelta(minutes=5),
            days=7,
            per_day=300,
            request_prefix="history",
        )
    )
    for start in range(0, len(history), 1_000):
        result = logs_ingest(rows=history[start : start + 1_000])
        assert not result.rejected, result.rejected[:3]
    credentials = [
        access_token_create(user=people[Role.OWNER][0], name="load").secret,
        access_token_create(user=people[Role.ADMIN][0], name="load").secret,
        make_key(organization, people[Role.OWNER][1], name="script-1", scopes=["admin"]).secret,
        make_key(organization, people[Role.ADMIN][1], name="script-2", scopes=["admin"]).secret,
    ]
    data = {
        "slug": organization.slug,
        "password": PASSWORD,
        # Roles taken in turn, so a dozen dashboard users are three of each.
        "people": [
            {"email": people[role][n].email, "role": role.value} for n in range(3) for role in Role
        ],
        "credentials": credentials,
        "gateway_keys": gateway_keys,
        "gateway_token": TOKEN,
    }
    (directory / "seed.json").write_text(json.dumps(data))
    history_rows = RequestLog.objects.filter(organization=organization).count()
    return {"organization": organization, "history_rows": history_rows}


def collect_static(directory: Path) -> Path:
    """The static files as a deployment serves them (whitenoise's manifest, compressed): gunicorn
    runs without DEBUG, and its pages name files through the manifest."""
    static_root = directory / "static"
    subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": "load-" + "x" * 50,
            "PROVIDER_SECRET_KEYS": PROVIDER_SECRET_KEY,
            "STATIC_ROOT": str(static_root),
        },
        check=True,
    )
    return static_root


def run_locust(directory: Path, base_url: str) -> dict:
    """Locust headless for SECONDS; what the locustfile wrote at the end: each endpoint's
    figures, the failures (a request answered wrongly), the exceptions (a task that raised)
    and the counts of what the gateways and scripts got accepted."""
    subprocess.run(  # noqa: S603 - our own interpreter and file
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            base_url,
            "--users",
            str(USERS),
            "--spawn-rate",
            str(SPAWN_RATE),
            "--run-time",
            f"{SECONDS}s",
            # Every user finishes the request it is in: a batch the server stored must be counted.
            "--stop-timeout",
            "60",
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "LOAD_SEED": str(directory / "seed.json"),
            "LOAD_RESULT": str(directory / "result.json"),
        },
        stdout=subprocess.DEVNULL,  # its own summary; the table below says the same
        check=False,  # locust exits 1 when any request failed; the result says which
        timeout=SECONDS + 180,
    )
    return json.loads((directory / "result.json").read_text())


def table(result: dict) -> str:
    lines = [
        f"{'endpoint':<44} {'requests':>8} {'failures':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7}"
    ]
    rows = sorted(result["endpoints"], key=lambda row: row["name"])
    for row in [*rows, {**result["aggregated"], "method": "", "name": "all"}]:
        name = f"{row['method']} {row['name']}".strip()
        if len(name) > 44:
            name = name[:43] + "…"
        lines.append(
            f"{name:<44} {row['requests']:>8,} {row['failures']:>8,} {row['p50']:>7,.0f} "
            f"{row['p95']:>7,.0f} {row['p99']:>7,.0f}"
        )
    return "\n".join(lines)


def rollup_requests(model, organization) -> int:
    total = model.objects.filter(organization=organization).aggregate(total=Sum("requests"))
    return total["total"] or 0


@pytest.mark.django_db(transaction=True)
def test_mixed_load(tmp_path, settings):
    settings.PROVIDER_SECRET_KEYS = [PROVIDER_SECRET_KEY]
    # The suite hashes passwords with MD5 for speed; gunicorn runs with the production hashers,
    # which do not read MD5, so the people who sign in get a PBKDF2 hash (as in production).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    seeded = seed(tmp_path)
    organization = seeded["organization"]
    versions_before = ConfigVersion.objects.filter(organization=organization).count()
    port = free_port()
    server = start_gunicorn(
        port,
        {
            "PROVIDER_SECRET_KEYS": PROVIDER_SECRET_KEY,
            "STATIC_ROOT": str(collect_static(tmp_path)),
            # Plain HTTP on loopback (TLS ends at a proxy in production): cookies marked
            # Secure would never come back, and every sign-in would fail its CSRF check.
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
        },
    )
    try:
        result = run_locust(tmp_path, f"http://127.0.0.1:{port}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    requests, failed = result["aggregated"]["requests"], result["aggregated"]["failures"]
    # A task that raised (its request may have gone unrecorded) counts as a failure too.
    failed += sum(exception["count"] for exception in result["exceptions"])
    error_rate = failed / requests if requests else 1.0
    stored = RequestLog.objects.filter(organization=organization)
    load_rows = stored.filter(request_id__startswith="load-").count()
    all_rows = stored.count()
    rollups = {
        model.__name__: rollup_requests(model, organization)
        for model in (HourlyRollup, KeyDayRollup, UserDayRollup)
    }
    keys_created = VirtualKey.objects.filter(
        organization=organization, name__startswith="load-"
    ).count()
    versions_saved = (
        ConfigVersion.objects.filter(organization=organization).count() - versions_before
    )
    got = Counter(result["totals"])
    print(
        f"\nLoad run: {USERS} users ({SPAWN_RATE}/s spawn) for {SECONDS} s against gunicorn "
        "(2 workers) + PostgreSQL: 12 people on the dashboard, 4 admin API scripts, 4 gateways"
    )
    print(table(result))
    print(
        f"error rate: {error_rate:.4%} ({failed} of {requests:,}; must be under "
        f"{MAX_ERROR_RATE:.1%})"
    )
    for failure in result["failures"]:
        print(f"  failure: {failure}")
    for exception in result["exceptions"]:
        print(f"  task raised x{exception['count']}: {exception['what']}")
    print(
        f"signed in: {got['signed_in']}; gateway batches {got['batches']} "
        f"({got['batches_failed']} failed): rows posted {got['rows_posted']:,}, accepted "
        f"{got['rows_accepted']:,}, duplicates {got['rows_duplicate']}, rejected "
        f"{got['rows_rejected']}"
    )
    print(
        f"request log of the org: {all_rows:,} rows = {seeded['history_rows']:,} seeded + "
        f"{load_rows:,} from the load; rollup requests: "
        + ", ".join(f"{name} {total:,}" for name, total in rollups.items())
    )
    print(
        f"config saved {got['config_saved']} times ({got['config_conflicts']} If-Match "
        f"conflicts, read again and retried; {got['config_gave_up']} gave up after "
        f"5 tries), {versions_saved} new versions; keys created "
        f"{got['keys_created']}, {keys_created} in the inventory"
    )

    assert requests > 0
    assert error_rate < MAX_ERROR_RATE
    assert got["signed_in"] == 12
    # Every row a gateway got accepted is stored once, under the org, and counted by every rollup.
    assert got["batches_failed"] == 0
    assert got["rows_posted"] > 0
    assert got["rows_accepted"] == got["rows_posted"]
    assert load_rows == got["rows_accepted"]
    assert all_rows == seeded["history_rows"] + got["rows_accepted"]
    assert rollups == dict.fromkeys(rollups, all_rows)
    # Every write the scripts were told succeeded is there too.
    assert versions_saved == got["config_saved"]
    assert keys_created == got["keys_created"]
