"""Production settings: refuse to start without a SECRET_KEY, and pass `check --deploy` clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from keys.models import VirtualKey
from members.models import User
from orgs.models import Membership, Organization
from orgs.selectors import organization_config
from usage.models import RequestLog

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x7!kq2$-production-like-secret-key-with-plenty-of-entropy-0123456789",
    "ALLOWED_HOSTS": "prism.example.com",
    "DATABASE_URL": "sqlite:////tmp/prism-deploy-check.sqlite3",
}


# A production process starts from a clean environment: none of the test run's switches
# (the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE, for one) may leak into it.
NOT_INHERITED = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def manage(*args, env):
    base = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_with_production_settings():
    env = {**PRODUCTION_ENV, **_extra_production_env()}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_refuses_to_start_without_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = manage("check", env={**env, **_extra_production_env()})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _extra_production_env() -> dict:
    """Production needs every secret-bearing variable set; later features add theirs here."""
    extra = {}
    path = ROOT / "tests" / "site" / "production.env"
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                key, _, value = line.partition("=")
                extra[key.strip()] = value.strip()
    return extra


def test_healthz_checks_the_database(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_demo_data_is_idempotent_and_gives_one_user_per_role(capsys):
    # A light month of traffic: tests/usage/test_demo_data.py checks what the traffic looks like.
    call_command("demo_data", requests_per_day=20)
    traffic = RequestLog.objects.count()
    call_command("demo_data", requests_per_day=20)
    assert RequestLog.objects.count() == traffic > 0  # traffic is added once
    organization = Organization.objects.get(slug="demo")
    roles = dict(
        Membership.objects.filter(organization=organization).values_list("user__email", "role")
    )
    assert roles == {
        "owner@demo.prism.test": "owner",
        "admin@demo.prism.test": "admin",
        "member@demo.prism.test": "member",
        "viewer@demo.prism.test": "viewer",
    }
    assert User.objects.count() == 4
    # Sample config and keys, made once.
    config = organization_config(organization)
    assert [provider.name for provider in config.providers] == ["openai-main", "anthropic-main"]
    assert config.budgets.enabled and config.budgets.limit == 500
    assert VirtualKey.objects.filter(organization=organization).count() == 4
    output = capsys.readouterr().out
    assert "viewer@demo.prism.test" in output and "Password" in output


def test_security_headers_on_every_page(client, db):
    response = client.get(reverse("accounts:login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_healthz_answers_plain_http_probes_while_pages_redirect_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert "Strict-Transport-Security" not in response  # HSTS is sent over HTTPS only
    login_page = client.get(reverse("accounts:login"))
    assert login_page.status_code == 301
    assert login_page["Location"] == "https://testserver/accounts/login/"
    # Only the exact path is exempt, not pages whose path merely starts the same way.
    assert client.get("/healthzz").status_code == 301
    assert client.get("/healthz", secure=True).status_code == 200
