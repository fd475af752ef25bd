"""The mixed load of `load_mixed.py`: people of every role browsing the dashboard, scripts on the
admin API and gateways posting request logs, at once, against one organization.

Run by `load_mixed.py` (`locust --headless`), which seeds the org and names it in the JSON file
at LOAD_SEED; at the end this writes each endpoint's figures and what the gateways and scripts
got accepted to LOAD_RESULT, so the run can account for every row. Locust only: no Django here
(it runs in Locust's process, under gevent).
"""

import json
import os
import random
import re
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from locust import HttpUser, between, events, task

SEED = json.loads(Path(os.environ["LOAD_SEED"]).read_text())
SLUG = SEED["slug"]
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Which dashboard pages each role's menu shows; the others answer 403 (tests/*/routes.py).
PAGES = {
    "viewer": ["overview", "members", "logs", "analytics"],
    "member": ["overview", "members", "logs", "analytics", "keys", "settings"],
    "admin": ["overview", "members", "logs", "analytics", "keys", "settings", "audit"],
    "owner": ["overview", "members", "logs", "analytics", "keys", "settings", "audit"],
}
LOG_FILTERS = [
    "",
    "?range=1h",
    "?range=7d&model=gpt-4o",
    "?status=5xx",
    "?errors_only=on",
    "?min_latency=1500",
    "?provider=anthropic-main&range=30d",
    "?user=user-007",
]
ANALYTICS_PERIODS = ["24h", "7d", "30d"]
MODELS = [
    ("gpt-4o", "openai-main"),
    ("gpt-4o-mini", "openai-main"),
    ("claude-sonnet-4", "anthropic-main"),
    ("claude-haiku-4", "anthropic-main"),
]
BATCH_ROWS = 100
CONFIG_ATTEMPTS = 5

# Totals the run reports (one process: every user adds to these).
totals: Counter = Counter()
_lock = threading.Lock()
_next_account = Counter()


def _take(kind: str, pool: list):
    """The next of `pool` for a new user of `kind`: each person signs in once, each credential
    has one script (the admin API's rate limit counts per credential)."""
    with _lock:
        index = _next_account[kind]
        _next_account[kind] += 1
    return pool[index % len(pool)]


def _count(**amounts):
    with _lock:
        totals.update(amounts)


class DashboardUser(HttpUser):
    """A person who signs in through the form and reads the pages their role shows."""

    fixed_count = 12
    wait_time = between(0.5, 2)

    def on_start(self):
        self.person = _take("person", SEED["people"])
        page = self.client.get("/accounts/login/", name="/accounts/login/")
        token = CSRF_FIELD.search(page.text).group(1)
        with self.client.post(
            "/accounts/login/",
            data={
                "username": self.person["email"],
                "password": SEED["password"],
                "csrfmiddlewaretoken": token,
                "next": f"/o/{SLUG}/",
            },
            name="/accounts/login/ (sign in)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or "sessionid" not in self.client.cookies:
                response.failure(f"sign-in refused: {response.status_code}")
            else:
                _count(signed_in=1)

    def _page(self, path: str, name: str):
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
            elif self.person["email"] not in response.text:
                # The account menu names who is signed in: a page without it was not theirs.
                response.failure("not signed in")

    @task
    def browse(self):
        page = random.choice(PAGES[self.person["role"]])
        base = f"/o/{SLUG}"
        if page == "overview":
            self._page(f"{base}/", "/o/[org]/ (overview)")
        elif page == "members":
            self._page(f"{base}/settings/members/", "/o/[org]/settings/members/")
        elif page == "logs":
            self._page(f"{base}/logs/{random.choice(LOG_FILTERS)}", "/o/[org]/logs/?[filters]")
        elif page == "analytics":
            period = random.choice(ANALYTICS_PERIODS)
            self._page(f"{base}/analytics/?period={period}", "/o/[org]/analytics/?period=")
        elif page == "keys":
            self._page(f"{base}/settings/keys/", "/o/[org]/settings/keys/")
        elif page == "settings":
            self._page(f"{base}/settings/organization/", "/o/[org]/settings/organization/")
        else:
            self._page(f"{base}/settings/audit/", "/o/[org]/settings/audit/")


class AdminApiUser(HttpUser):
    """A script on the admin API with a personal access token or an admin-scoped key."""

    fixed_count = 4
    wait_time = between(0.5, 1.5)

    def on_start(self):
        credential = _take("credential", SEED["credentials"])
        self.client.headers["Authorization"] = f"Bearer {credential}"
        self.api = f"/v1/orgs/{SLUG}"

    @task(3)
    def config_read_then_patch(self):
        """Read the config, then change the org rate limit with If-Match. When another script
        saved in between, the answer is 412 (the protocol doing its job, not a failure): read
        again and retry, as a client should, a few times."""
        for _attempt in range(CONFIG_ATTEMPTS):
            with self.client.get(
                f"{self.api}/config", name="GET /v1/orgs/[org]/config", catch_response=True
            ) as response:
                if response.status_code != 200 or not response.headers.get("ETag"):
                    response.failure(f"{response.status_code}")
                    return
                etag = response.headers["ETag"]
            with self.client.patch(
                f"{self.api}/config",
                json={
                    "config": {"rate_limiting": {"rpm": random.randint(1_000, 100_000)}},
                    "message": "load run",
                },
                headers={"If-Match": etag},
                name="PATCH /v1/orgs/[org]/config",
                catch_response=True,
            ) as response:
                if response.status_code == 200:
                    _count(config_saved=1)
                    return
                if response.status_code != 412:
                    response.failure(f"{response.status_code}: {response.text[:200]}")
                    return
                response.success()
                _count(config_conflicts=1)
        _count(config_gave_up=1)

    @task(2)
    def keys_list(self):
        with self.client.get(
            f"{self.api}/keys?status=active", name="GET /v1/orgs/[org]/keys", catch_response=True
        ) as response:
            if response.status_code != 200 or "data" not in response.json():
                response.failure(f"{response.status_code}")

    @task(1)
    def key_create(self):
        with self.client.post(
            f"{self.api}/keys",
            json={"name": f"load-{uuid.uuid4().hex[:12]}", "rate_limit_rpm": 600},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            name="POST /v1/orgs/[org]/keys",
            catch_response=True,
        ) as response:
            if response.status_code != 201 or not response.json().get("key"):
                response.failure(f"{response.status_code}: {response.text[:200]}")
            else:
                _count(keys_created=1)

    @task(2)
    def logs_list(self):
        query = random.choice(["range=24h", "range=7d&model=gpt-4o-mini", "status=5xx"])
        with self.client.get(
            f"{self.api}/logs?{query}", name="GET /v1/orgs/[org]/logs", catch_response=True
        ) as response:
            if response.status_code != 200 or "data" not in response.json():
                response.failure(f"{response.status_code}")


class GatewayUser(HttpUser):
    """A gateway posting batches of request logs, each row with a request id of its own."""

    fixed_count = 4
    wait_time = between(0.5, 2)

    def on_start(self):
        self.client.headers["Authorization"] = f"Bearer {SEED['gateway_token']}"

    @task
    def post_logs(self):
        now = datetime.now(UTC)
        rows = []
        for _ in range(BATCH_ROWS):
            model, provider = random.choice(MODELS)
            status = random.choices([200, 429, 500], weights=[95, 3, 2])[0]
            rows.append(
                {
                    "request_id": f"load-{uuid.uuid4().hex}",
                    "key_id": random.choice(SEED["gateway_keys"]),
                    "model": model,
                    "provider": provider,
                    "status_code": status,
                    "latency_ms": int(random.lognormvariate(6.5, 0.6)),
                    "input_tokens": random.randint(10, 4_000),
                    "output_tokens": random.randint(1, 1_000),
                    "cost": f"{random.uniform(0, 0.05):.6f}",
                    "started_at": (now - timedelta(seconds=random.uniform(0, 3_600))).isoformat(),
                    "user": f"user-{random.randint(1, 40):03d}",
                }
            )
        with self.client.post(
            "/v1/gateway/logs",
            json={"logs": rows},
            name="POST /v1/gateway/logs (100 rows)",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                _count(batches_failed=1, rows_in_failed_batches=len(rows))
                return
            answer = response.json()
            _count(
                batches=1,
                rows_posted=len(rows),
                rows_accepted=answer["accepted"],
                rows_duplicate=answer["duplicates"],
                rows_rejected=len(answer["rejected"]),
            )
            if answer["accepted"] != len(rows):
                response.failure(f"{answer['accepted']} of {len(rows)} rows accepted: {answer}")


@events.test_stop.add_listener
def _write_result(environment, **kwargs):
    """After every user finished the request it was in: the counts, and each endpoint's stats
    taken at the same moment (Locust's CSV files are written every few seconds, so they can
    miss the last requests)."""
    stats = environment.runner.stats

    def entry(stat):
        return {
            "method": stat.method or "",
            "name": stat.name,
            "requests": stat.num_requests,
            "failures": stat.num_failures,
            **{
                f"p{round(share * 100)}": stat.get_response_time_percentile(share)
                for share in (0.5, 0.95, 0.99)
            },
        }

    result = {
        "totals": dict(totals),
        "endpoints": [entry(stat) for stat in stats.entries.values()],
        "aggregated": entry(stats.total),
        "failures": [
            f"{error.method} {error.name}: {error.error} x{error.occurrences}"
            for error in stats.errors.values()
        ],
        "exceptions": [
            {"count": exception["count"], "what": f"{exception['msg']}: {exception['traceback']}"}
            for exception in environment.runner.exceptions.values()
        ],
    }
    Path(os.environ["LOAD_RESULT"]).write_text(json.dumps(result))
