"""Service tokens: every configured token works (so one rotates without downtime), anything
else is a 401 JSON envelope logged with the caller's address, never a page."""

import hmac
import logging

import pytest
from django.test import Client

from gateway import auth
from tests.gateway.conftest import NEXT_TOKEN, TOKEN, bearer, gateway_get, json_of

pytestmark = pytest.mark.django_db

UNAUTHENTICATED = {
    "type": "authentication_error",
    "code": "invalid_token",
    "message": "Send a valid token as `Authorization: Bearer <token>`.",
    "param": None,
}


def assert_401(response):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert json_of(response) == {"error": UNAUTHENTICATED}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer "},
        {"Authorization": TOKEN},
    ],
    ids=["missing", "truncated", "longer", "basic-scheme", "empty", "no-scheme"],
)
def test_a_missing_or_wrong_token_is_a_json_401(headers):
    assert_401(Client().get("/v1/gateway/configs", headers=headers))
    assert_401(Client().get("/v1/gateway/keys", headers=headers))


def test_refusals_are_logged_with_the_address_never_the_token(caplog):
    wrong = "gw-wrong-token-that-must-never-reach-a-log-line-0001"
    with caplog.at_level(logging.WARNING, logger="gateway.auth"):
        Client(REMOTE_ADDR="203.0.113.7").get("/v1/gateway/configs", headers=bearer(wrong))
        Client(REMOTE_ADDR="203.0.113.8").get("/v1/gateway/keys")
    lines = [record.getMessage() for record in caplog.records if record.name == "gateway.auth"]
    assert lines == [
        "Gateway API refused GET /v1/gateway/configs from 203.0.113.7: wrong bearer token",
        "Gateway API refused GET /v1/gateway/keys from 203.0.113.8: no bearer token",
    ]
    assert all(record.levelno == logging.WARNING for record in caplog.records)
    assert wrong not in caplog.text and TOKEN not in caplog.text


def test_two_tokens_both_work_during_a_rotation_and_a_removed_one_stops(settings):
    settings.GATEWAY_TOKENS = [TOKEN, NEXT_TOKEN]
    assert gateway_get("/v1/gateway/configs", token=TOKEN).status_code == 200
    assert gateway_get("/v1/gateway/configs", token=NEXT_TOKEN).status_code == 200
    settings.GATEWAY_TOKENS = [NEXT_TOKEN]
    assert_401(gateway_get("/v1/gateway/configs", token=TOKEN))
    assert gateway_get("/v1/gateway/configs", token=NEXT_TOKEN).status_code == 200


def test_no_configured_token_refuses_everything(settings):
    settings.GATEWAY_TOKENS = []
    assert_401(gateway_get("/v1/gateway/configs", token=TOKEN))
    assert not auth.token_valid("")


def test_every_configured_token_is_compared_even_after_a_match(settings, monkeypatch):
    settings.GATEWAY_TOKENS = [TOKEN, NEXT_TOKEN, "gw-third-0123456789abcdefghijklmnopqrstu"]
    compared = []
    compare_digest = hmac.compare_digest

    def counting(a, b):
        compared.append(b)
        return compare_digest(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    assert auth.token_valid(TOKEN)
    assert len(compared) == 3


def test_a_signed_in_session_does_not_open_the_gateway_api(client, owner):
    client.force_login(owner)
    assert_401(client.get("/v1/gateway/configs"))
    assert_401(client.post("/v1/gateway/logs", {"logs": []}, content_type="application/json"))


def test_unknown_api_paths_answer_json_not_a_page():
    for method in ("get", "post", "delete"):
        response = getattr(Client(), method)("/v1/no/such/thing", headers=bearer())
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert json_of(response)["error"]["type"] == "not_found_error"
    response = Client().get("/v1/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_the_openapi_document_lists_the_gateway_endpoints_with_bearer_auth():
    response = Client().get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert {"/v1/gateway/configs", "/v1/gateway/keys"} <= set(document["paths"])
    schemes = document["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= next(iter(schemes.values())).items()


def test_settings_refuse_a_short_token_and_read_a_list():
    from tests.site.test_deployment import PRODUCTION_ENV, _extra_production_env, manage

    env = {**PRODUCTION_ENV, **_extra_production_env()}
    short = manage("check", env={**env, "GATEWAY_TOKENS": f"{TOKEN},too-short"})
    assert short.returncode != 0
    assert "GATEWAY_TOKENS: each token must be at least 32 characters" in short.stderr
    assert "too-short" not in short.stderr
    listed = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.GATEWAY_TOKENS)",
        env={**env, "GATEWAY_TOKENS": f" {TOKEN} , {NEXT_TOKEN} ,"},
    )
    assert listed.stdout.strip().splitlines()[-1] == repr([TOKEN, NEXT_TOKEN]), listed.stderr
