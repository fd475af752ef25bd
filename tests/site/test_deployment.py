"""Production settings: refuse to start without a SECRET_KEY, and pass `check --deploy` clean."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured
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


SHOW_SESSION_SETTINGS = (
    "from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, "
    "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_PATH, s.CSRF_COOKIE_PATH, "
    "s.SESSION_COOKIE_DOMAIN, s.CSRF_COOKIE_DOMAIN, s.SESSION_IDLE_TIMEOUT_MINUTES, "
    "s.SESSION_ABSOLUTE_TIMEOUT_HOURS, s.SESSION_COOKIE_AGE)"
)


def test_production_cookies_are_host_prefixed_and_session_limits_come_from_the_environment():
    env = {
        **PRODUCTION_ENV,
        **_extra_production_env(),
        "SESSION_IDLE_TIMEOUT_MINUTES": "15",
        "SESSION_ABSOLUTE_TIMEOUT_HOURS": "8",
    }
    result = manage("shell", "--no-imports", "-c", SHOW_SESSION_SETTINGS, env=env)
    assert result.returncode == 0, result.stderr
    # `__Host-` cookies are refused by browsers unless Secure, Path=/ and without Domain.
    assert result.stdout.split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "True",
        "/",
        "/",
        "None",
        "None",
        "15",
        "8",
        str(8 * 3600),  # the stored session outlives no absolute limit
    ]


def settings_with(monkeypatch, **environment) -> dict:
    """The settings module run afresh with these variables (in this process: no start-up),
    Django's defaults beneath it."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    defaults = {name: getattr(global_settings, name) for name in dir(global_settings)}
    return defaults | runpy.run_path(str(ROOT / "prism_site" / "settings.py"))


def test_over_http_the_cookies_keep_plain_names_and_the_limits_their_defaults(monkeypatch):
    monkeypatch.delenv("SESSION_IDLE_TIMEOUT_MINUTES", raising=False)
    monkeypatch.delenv("SESSION_ABSOLUTE_TIMEOUT_HOURS", raising=False)
    for debug in ("1", "0"):  # DEBUG, and the test run (plain HTTP as well)
        loaded = settings_with(monkeypatch, DEBUG=debug)
        assert (loaded["SESSION_COOKIE_NAME"], loaded["CSRF_COOKIE_NAME"]) == (
            "sessionid",
            "csrftoken",
        )
        assert loaded["SESSION_IDLE_TIMEOUT_MINUTES"] == 60
        assert loaded["SESSION_ABSOLUTE_TIMEOUT_HOURS"] == 24
    # Secure cookies on a DEBUG run (a local HTTPS proxy) keep plain names too.
    loaded = settings_with(monkeypatch, DEBUG="1", SESSION_COOKIE_SECURE="1")
    assert loaded["SESSION_COOKIE_NAME"] == "sessionid"


@pytest.mark.parametrize("value", ["1h", "0", "-5"])
def test_a_session_limit_that_is_not_a_whole_number_stops_the_start(monkeypatch, value):
    with pytest.raises(ImproperlyConfigured) as refused:
        settings_with(monkeypatch, SESSION_ABSOLUTE_TIMEOUT_HOURS=value)
    assert str(refused.value) == (
        f"SESSION_ABSOLUTE_TIMEOUT_HOURS: must be a whole number, 1 or more, not {value!r}"
    )


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
    # The logins are printed once, by demo_runserver when the server is ready, not here.
    assert "@demo.prism.test" not in output and "prism-demo-password" not in output


def test_security_headers_on_every_page(client, db):
    response = client.get(reverse("accounts:login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    # The policy itself is checked page by page in test_security_headers.
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


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
