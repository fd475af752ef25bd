"""The README's admin API walkthroughs, run as written: each block marked
`<!-- walkthrough: name -->` is taken from README.md and run (bash with curl and jq, or Python
with httpx) against a live server, with PRISM_URL, PRISM_TOKEN, ORG_ID and KEY_ID in its
environment; then the orgs, configs and keys it made are read back from the database."""

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from keys.models import VirtualKey
from members.services import access_token_create
from orgs.config_schema import StoredSecret
from orgs.models import Membership, Organization
from orgs.roles import Role
from orgs.selectors import config_current
from tests.factories import make_organization, make_user
from tests.keys.conftest import make_key

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(
    r"<!-- walkthrough: (?P<name>[\w-]+) -->\s*```(?P<language>sh|python)\n(?P<code>.*?)\n```",
    re.DOTALL,
)
OPERATIONS = ("retrieve", "update", "list", "create", "delete")

pytestmark = pytest.mark.django_db(transaction=True)


def walkthroughs() -> dict[str, tuple[str, str]]:
    blocks = {}
    for match in BLOCK.finditer(README.read_text()):
        assert match["name"] not in blocks, f"two walkthrough blocks named {match['name']}"
        blocks[match["name"]] = (match["language"], match["code"])
    return blocks


def run(name: str, **environment: str) -> str:
    """Run one README block as a reader would; returns what it printed."""
    language, code = walkthroughs()[name]
    command = (
        ["bash", "-euo", "pipefail", "-c", code]
        if language == "sh"
        else [
            sys.executable,
            "-c",
            code,
        ]
    )
    finished = subprocess.run(  # noqa: S603 - the README's own code, run on purpose
        command,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, f"{name} failed:\n{finished.stdout}\n{finished.stderr}"
    return finished.stdout


@pytest.fixture(autouse=True)
def generous_rate_limit(settings):
    settings.ADMIN_API_RATE_LIMIT_PER_MINUTE = 100_000


@pytest.fixture
def reader(live_server):
    """Someone with a personal access token and an org of theirs, and the environment the
    README's blocks read."""
    user = make_user("reader@example.test")
    organization = make_organization("Reader Co", owner=user)
    token = access_token_create(user=user, name="readme").secret
    return {
        "user": user,
        "organization": organization,
        "env": {
            "PRISM_URL": live_server.url,
            "PRISM_TOKEN": token,
            "ORG_ID": organization.slug,
            "OPENAI_API_KEY": "sk-openai-walkthrough-0000000000001234",
            "ANTHROPIC_API_KEY": "sk-ant-walkthrough-0000000000005678",
        },
    }


def test_the_readme_marks_each_walkthrough_once():
    names = set(walkthroughs())
    expected = {"customer-orgs", "team-keys"} | {
        f"{operation}-{language}" for operation in OPERATIONS for language in ("curl", "python")
    }
    assert names == expected


def test_one_org_per_customer(reader):
    printed = run("customer-orgs", **reader["env"])
    assert printed.split("\n")[0] == "customer-a config version 2"
    # Run again (a retry of the whole script): the Idempotency-Keys create no second org.
    run("customer-orgs", **reader["env"])
    organizations = {
        organization.name: organization
        for organization in Organization.objects.filter(name__startswith="Customer ")
    }
    assert sorted(organizations) == ["Customer A", "Customer B", "Customer C"]
    for organization in organizations.values():
        owner = Membership.objects.get(organization=organization)
        assert (owner.user, owner.role) == (reader["user"], Role.OWNER)

    plans = {name: config_current(org).config for name, org in organizations.items()}
    a, b, c = plans["Customer A"], plans["Customer B"], plans["Customer C"]
    assert a.enabled_models == ["gpt-4o-mini"]
    assert (a.budgets.enabled, a.budgets.limit, a.budgets.period) == (True, 100, "monthly")
    assert b.enabled_models == ["claude-sonnet-4-6", "gpt-4o"]
    assert (b.budgets.enabled, b.budgets.limit) == (True, Decimal(500))
    assert c.budgets.enabled is False and c.budgets.limit is None
    assert "gpt-4o" in c.enabled_models and "claude-sonnet-4-6" in c.enabled_models
    # The provider keys were stored encrypted, shown only by their mask.
    for config in plans.values():
        for provider in config.providers:
            assert isinstance(provider.api_key, StoredSecret)
            assert provider.api_key.masked.endswith(("1234", "5678"))


def test_one_org_with_a_key_per_team(reader):
    printed = run("team-keys", **reader["env"])
    secrets = dict(line.split(": ", 1) for line in printed.strip().split("\n"))
    assert sorted(secrets) == ["Data science", "Engineering", "Marketing"]
    keys = {key.name: key for key in VirtualKey.objects.filter(organization=reader["organization"])}
    assert sorted(keys) == sorted(secrets)
    expected = {
        "Marketing": (50, Decimal(200), "monthly"),
        "Engineering": (500, Decimal(1000), "monthly"),
        "Data science": (200, None, ""),
    }
    for name, (rpm, budget, period) in expected.items():
        key = keys[name]
        assert (key.rate_limit_rpm, key.budget_limit, key.budget_period) == (rpm, budget, period)
        assert secrets[name].startswith("sk-prism-") and secrets[name].endswith(key.secret_last4)
        assert key.created_by == reader["user"]


def test_each_client_call_as_curl_and_as_python(reader):
    env = reader["env"]
    organization = reader["organization"]
    for language in ("curl", "python"):
        printed = run(f"retrieve-{language}", **env)
        assert '"budgets"' in printed or "'enabled'" in printed

    run("update-curl", **env)
    run("update-python", **env)
    config = config_current(organization).config
    assert (config.rate_limiting.enabled, config.rate_limiting.rpm) == (True, 1000)
    assert (config.caching.enabled, config.caching.ttl_seconds) == (True, 600)

    run("create-curl", **env)
    run("create-python", **env)
    made = {key.name: key for key in VirtualKey.objects.filter(organization=organization)}
    assert (made["search-api"].rate_limit_rpm, made["search-api"].allowed_models) == (
        300,
        ["gpt-4o-mini"],
    )
    assert (made["batch-jobs"].rate_limit_rpm, made["batch-jobs"].allowed_models) == (
        60,
        ["gpt-4o"],
    )

    for language in ("curl", "python"):
        printed = run(f"list-{language}", **env)
        assert made["search-api"].public_id in printed
        assert made["batch-jobs"].public_id in printed

    doomed = {
        language: make_key(organization, reader["user"], name=f"doomed-{language}").key
        for language in ("curl", "python")
    }
    for language, key in doomed.items():
        printed = run(f"delete-{language}", **env, KEY_ID=key.public_id)
        assert "revoked" in printed
        key.refresh_from_db()
        assert key.revoked_at is not None
    assert (
        VirtualKey.objects.filter(organization=organization, revoked_at__isnull=True).count() == 2
    )
