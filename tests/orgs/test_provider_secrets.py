"""Provider secrets: sealed at rest under rotatable keys that are not SECRET_KEY, shown only
masked, and a canary key never appears in any page, JSON, audit entry, log or error page."""

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from members.models import User
from orgs import secrets, selectors, services
from orgs.models import AuditEvent, ConfigVersion, ProviderSecret
from prism_site.actor import Actor
from tests.matrix import MatrixContext
from tests.test_route_matrix import ROUTES

ROOT = Path(__file__).resolve().parents[2]
CANARY = "sk-canary-7f3e9b1c5d2a4e6f8091a2b3c4d5e6f7"


def store_canary(organization, actor, name="openai"):
    return services.config_provider_save(
        organization=organization,
        actor=Actor(actor),
        base_version=None,
        original_name=None,
        values={"name": name, "type": "openai", "api_key": CANARY, "models": ["gpt-4o"]},
    )


# -- Encryption ---------------------------------------------------------------------------------


def test_sealing_is_authenticated_and_bound_to_the_organization():
    key_id, sealed = secrets.encrypt(CANARY, organization_id=1)
    assert CANARY not in sealed and secrets.encrypt(CANARY, organization_id=1)[1] != sealed
    assert secrets.decrypt(sealed, key_id=key_id, organization_id=1) == CANARY
    with pytest.raises(secrets.SecretUnavailable, match="moved between organizations"):
        secrets.decrypt(sealed, key_id=key_id, organization_id=2)
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(secrets.SecretUnavailable, match="failed authentication"):
        secrets.decrypt(tampered, key_id=key_id, organization_id=1)


def test_the_keys_are_not_derived_from_secret_key(settings, organization, owner):
    store_canary(organization, owner)
    settings.SECRET_KEY = "a-completely-different-secret-key"
    config = selectors.organization_config(organization)
    assert selectors.provider_api_keys(organization, config) == {"openai": CANARY}


@pytest.mark.parametrize(
    ("plaintext", "masked"),
    [
        ("sk-proj-abcdefghijklmnopqrstuvwxyz", "sk-…wxyz"),
        ("gsk_0123456789abcdefghij", "gsk_…ghij"),
        ("AIzaSyA1234567890abcdef", "…cdef"),
        ("short-key", "…"),
    ],
)
def test_masks_show_a_prefix_and_the_last_four_only_of_long_keys(plaintext, masked):
    assert secrets.mask(plaintext) == masked


def test_rotation_reencrypts_under_the_newest_key(settings, organization, owner, capsys):
    old_key = settings.PROVIDER_SECRET_KEYS[0]
    store_canary(organization, owner)
    new_key = secrets.generate_key()
    settings.PROVIDER_SECRET_KEYS = [new_key, old_key]
    config = selectors.organization_config(organization)
    # Before re-encryption the old key still opens the row; new secrets use the new key.
    assert selectors.provider_api_keys(organization, config) == {"openai": CANARY}
    call_command("reencrypt_provider_secrets", "--dry-run")
    assert "1 provider secret(s) would be re-encrypted" in capsys.readouterr().out
    call_command("reencrypt_provider_secrets")
    assert "Re-encrypted 1 provider secret(s)" in capsys.readouterr().out
    assert set(ProviderSecret.objects.values_list("key_id", flat=True)) == {secrets.newest_key_id()}
    settings.PROVIDER_SECRET_KEYS = [new_key]
    assert selectors.provider_api_keys(organization, config) == {"openai": CANARY}
    call_command("reencrypt_provider_secrets")
    assert "Re-encrypted 0 provider secret(s)" in capsys.readouterr().out


def test_a_missing_old_key_is_named_and_the_command_fails(settings, organization, owner):
    store_canary(organization, owner)
    settings.PROVIDER_SECRET_KEYS = [secrets.generate_key()]
    config = selectors.organization_config(organization)
    with pytest.raises(secrets.SecretUnavailable, match="not in PROVIDER_SECRET_KEYS"):
        selectors.provider_api_keys(organization, config)
    with pytest.raises(CommandError, match="1 provider secret"):
        call_command("reencrypt_provider_secrets")


def test_the_command_prints_a_usable_key(capsys, settings):
    call_command("reencrypt_provider_secrets", "--generate-key")
    key = capsys.readouterr().out.strip()
    settings.PROVIDER_SECRET_KEYS = [key]
    key_id, sealed = secrets.encrypt("x", organization_id=3)
    assert key_id == secrets.newest_key_id()
    assert secrets.decrypt(sealed, key_id=key_id, organization_id=3) == "x"


# -- Start-up rules -----------------------------------------------------------------------------


def manage(*args, env, home=None):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "PROVIDER_SECRET_KEYS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_provider_secret_key():
    result = manage(
        "check",
        env={
            "DEBUG": "0",
            "SECRET_KEY": "x7!kq2$-a-production-like-secret-key-0123456789abcdef",
            "ALLOWED_HOSTS": "prism.example.com",
        },
    )
    assert result.returncode != 0
    assert "PROVIDER_SECRET_KEYS: set it in the environment" in result.stderr


def test_a_malformed_key_is_refused_by_the_checks():
    result = manage("check", env={"DEBUG": "1", "PROVIDER_SECRET_KEYS": "too-short"})
    assert result.returncode != 0
    assert "orgs.E001" in result.stderr and "key 1 is not 32 bytes" in result.stderr


def test_development_generates_one_key_outside_the_repository_and_warns(tmp_path):
    env = {"DEBUG": "1", "XDG_DATA_HOME": str(tmp_path)}
    first = manage("check", env=env)
    key_file = tmp_path / "prism" / "provider-secret-key"
    assert first.returncode == 0, first.stderr
    assert "Generated a development PROVIDER_SECRET_KEYS key" in first.stderr
    assert "orgs.W001" in first.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    second = manage("check", env=env)
    assert "Generated" not in second.stderr and key_file.read_text() == key


# -- The canary never leaks ---------------------------------------------------------------------


CALLERS = ("anonymous", "outsider", "viewer", "member", "admin", "owner")
SECTIONS = [
    "general",
    "providers",
    "routing",
    "caching",
    "rate_limiting",
    "budgets",
    "ip_acl",
    "billing",
    "json",
    "history",
]


def signed_in_clients(users_by_role) -> dict[str, Client]:
    """A client per caller, signed in once: each page is then one request, not a sign-in too."""
    clients = {}
    for caller in CALLERS:
        clients[caller] = Client()
        if caller != "anonymous":
            clients[caller].force_login(users_by_role[caller])
    return clients


def page_as(clients, caller, url, **kwargs) -> str:
    response = clients[caller].get(url, **kwargs)
    # A page that ended the session would leave the caller's later pages anonymous.
    assert response.wsgi_request.user.is_authenticated == (caller != "anonymous"), (caller, url)
    if response.streaming:  # an export: its whole body is checked too
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_the_canary_never_appears_in_any_page_for_any_role(organization, users_by_role):
    store_canary(organization, users_by_role["owner"])
    ctx = MatrixContext(organization=organization, users=users_by_role)
    clients = signed_in_clients(users_by_role)
    checked = 0
    # Every GET page of the project, as listed in the route matrix. Route kwargs may create
    # objects; a savepoint per route keeps them from colliding with the next route's.
    for route in (route for route in ROUTES if route.method == "GET"):
        savepoint = transaction.savepoint_create()
        url = reverse(route.name, kwargs=route.kwargs(ctx))
        for caller in CALLERS:
            for query in {"", route.query}:
                body = page_as(clients, caller, f"{url}?{query}")
                assert CANARY not in body, (caller, route.id)
                checked += 1
        transaction.savepoint_rollback(savepoint)
    # Every section of Settings > Organization, read and edit, full page and htmx partial.
    settings_page = reverse("orgs:settings", args=[organization.slug])
    queries = [f"{kind}={section}" for section in SECTIONS for kind in ("edit", "section")]
    for caller in CALLERS:
        for query in [*queries, "edit=providers&provider=openai"]:
            for headers in ({}, {"HX-Request": "true"}):
                url = f"{settings_page}?{query}"
                body = page_as(clients, caller, url, headers=headers)
                assert CANARY not in body, (caller, query)
                checked += 1
    assert checked > 300


def test_the_canary_is_never_echoed_by_a_refused_form(client, organization, admin):
    client.force_login(admin)
    response = client.post(
        reverse("orgs:provider_save", args=[organization.slug]),
        {
            "base_version": 1,
            "name": "openai",
            "type": "openai",
            "api_key": CANARY,
            "weight": "heavy",
            "timeout_seconds": "60",
        },
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert "providers[0].weight: must be a whole number" in body and CANARY not in body


# JSON lets a member name and its value be spelled with \u escapes; the tail of the canary is
# what must never come back, however it was typed.
ESCAPED_CANARY = "\\u0073" + CANARY[1:]
REFUSED_DOCUMENTS = {
    "valid JSON, refused by the schema": (
        '{"providers": [{"name": "x", "type": "openai", "api\\u005fkey": "%s", "bogus": 1}]}',
        "providers[0].bogus: unknown field",
    ),
    "not JSON (a trailing comma)": (
        '{"providers": [{"name": "x", "type": "openai", "\\u0061pi_key": "%s",}]}',
        "document: not valid JSON",
    ),
    "not JSON (the key's string never closed)": (
        '{"providers": [{"name": "x", "type": "openai", "api_key": "%s',
        "document: not valid JSON",
    ),
}


@pytest.mark.parametrize("document, error", REFUSED_DOCUMENTS.values(), ids=REFUSED_DOCUMENTS)
def test_the_json_editor_never_echoes_a_typed_key_however_it_is_spelled(
    client, organization, admin, document, error
):
    client.force_login(admin)
    response = client.post(
        reverse("orgs:config_document_edit", args=[organization.slug]),
        {"base_version": 1, "document": document % ESCAPED_CANARY},
    )
    body = response.content.decode()
    assert response.status_code == 400 and error in body
    assert CANARY[1:] not in body and "…paste the key again…" in body


def test_the_canary_is_not_in_the_database_or_the_audit_log_in_plaintext(
    client, organization, owner
):
    store_canary(organization, owner)
    services.config_provider_save(
        organization=organization,
        actor=Actor(owner),
        base_version=None,
        original_name="openai",
        values={"name": "openai", "type": "openai", "api_key": CANARY + "-rotated"},
    )
    stored = [str(v.document) for v in ConfigVersion.objects.all()]
    stored += [str(e.details) + e.target for e in AuditEvent.objects.all()]
    stored += list(ProviderSecret.objects.values_list("ciphertext", flat=True))
    stored += list(ProviderSecret.objects.values_list("masked", flat=True))
    assert stored and not any(CANARY in text for text in stored)
    client.force_login(owner)
    audit = client.get(reverse("orgs:audit", args=[organization.slug])).content.decode()
    assert "config.update" in audit and CANARY not in audit


def test_the_canary_is_not_logged_nor_shown_on_a_debug_error_page(
    organization, admin, settings, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    url = reverse("orgs:provider_save", args=[organization.slug])
    data = {
        "base_version": 1,
        "name": "openai",
        "type": "openai",
        "api_key": CANARY,
        "weight": "1",
        "timeout_seconds": "60",
    }
    client.post(url, data)
    assert CANARY not in caplog.text

    def broken_seal(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.secrets, "encrypt", broken_seal)
    settings.DEBUG = True
    response = client.post(url, {**data, "name": "second", "base_version": 2})
    assert response.status_code == 500
    assert "disk full" in response.content.decode()
    assert CANARY not in response.content.decode()
    assert CANARY not in caplog.text


def test_a_key_typed_into_the_json_editor_is_not_shown_on_a_debug_error_page(
    organization, admin, settings, monkeypatch
):
    def broken_seal(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.secrets, "encrypt", broken_seal)
    settings.DEBUG = True
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    document = {"providers": [{"name": "openai", "type": "openai", "api_key": CANARY}]}
    response = client.post(
        reverse("orgs:config_document_edit", args=[organization.slug]),
        {"base_version": 1, "document": json.dumps(document)},
    )
    assert response.status_code == 500
    assert "disk full" in response.content.decode()
    assert CANARY not in response.content.decode()


def test_staff_admin_pages_show_only_masks(client, organization, owner):
    store_canary(organization, owner)
    staff = User.objects.create_superuser("staff@example.test", "x-staff-password-1")
    client.force_login(staff)
    secret = ProviderSecret.objects.get()
    version = selectors.config_current(organization).version
    for url in (
        reverse("admin:orgs_providersecret_changelist"),
        reverse("admin:orgs_providersecret_change", args=[secret.pk]),
        reverse("admin:orgs_configversion_change", args=[version.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200 and CANARY not in response.content.decode()
