"""The open-source Prism gateway's requests replayed as it sends them: every answer parses with
the contract's models (extra fields forbidden, as its schema does), a wrong token or webhook
secret is a loud 401, and the bodies its log rows may carry are never stored."""

import json
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from gateway.agentcc import IngestEnvelope, KeysEnvelope, OrgConfigsEnvelope, SpendEnvelope
from keys.secrets import hash_secret
from keys.services import key_revoke, key_rotate
from prism_site.actor import Actor
from tests.gateway.conftest import CANARY, NEXT_TOKEN, TOKEN, bearer, body_of, json_of
from tests.gateway.test_agentcc_contract import flusher_row as contract_row
from tests.gateway.test_configs import store_provider
from tests.keys.conftest import make_key
from usage.models import RequestLog

pytestmark = pytest.mark.django_db


def pull(path, token=TOKEN, **query):
    return Client().get(path, query, headers=bearer(token) if token else {})


def push(body, secret=TOKEN):
    return Client().post(
        "/agentcc/webhook/logs/",
        json.dumps(body) if not isinstance(body, bytes) else body,
        content_type="application/json",
        headers={"X-Webhook-Secret": secret} if secret else {},
    )


def flusher_row(key, request_id, **fields):
    """A row as the gateway's log flusher writes it, from `key`, two minutes ago."""
    return contract_row(
        **{
            "request_id": request_id,
            "timestamp": (timezone.now() - timedelta(minutes=2)).isoformat(),
            "provider": "openai",
            "auth_key_id": key.public_id,
            **fields,
        }
    )


def test_org_configs_bulk_validates_against_the_contract(organization, owner, other_organization):
    store_provider(organization, owner)
    response = pull("/agentcc/org-configs/bulk/")
    assert response.status_code == 200
    parsed = OrgConfigsEnvelope.model_validate(json_of(response))
    assert parsed.status is True
    assert set(parsed.result) == {str(organization.pk), str(other_organization.pk)}
    assert parsed.result[str(organization.pk)].providers["openai"].api_key == CANARY


def test_api_keys_bulk_lists_working_secrets_only(organization, owner):
    rotated = make_key(organization, owner, name="rotated")
    renewed = key_rotate(key=rotated.key, actor=Actor(owner), grace="24h")
    revoked = make_key(organization, owner, name="revoked")
    key_revoke(key=revoked.key, actor=Actor(owner))
    response = pull("/agentcc/api-keys/bulk/")
    assert response.status_code == 200 and response.streaming
    parsed = KeysEnvelope.model_validate(json_of(response))
    hashes = {item.key_hash: item for item in parsed.result}
    assert set(hashes) == {hash_secret(renewed.secret), hash_secret(rotated.secret)}
    assert {item.id for item in parsed.result} == {rotated.key.public_id}
    assert all(item.metadata["org_id"] == str(organization.pk) for item in parsed.result)


def test_spend_summary_validates_and_names_keys_as_their_budgets_do(organization, owner):
    key = make_key(organization, owner, name="checkout").key
    assert push({"logs": [flusher_row(key, "r-1", cost=1.5)]}).status_code == 200
    for period in ("daily", "weekly", "monthly", "total"):
        response = pull("/agentcc/spend-summary/", period=period)
        assert response.status_code == 200
        parsed = SpendEnvelope.model_validate(json_of(response))
        assert parsed.result.period == period
        org = parsed.result.orgs[str(organization.pk)]
        assert org.total_spend == 1.5 and org.per_key == {"checkout": 1.5}
    bad = pull("/agentcc/spend-summary/", period="hourly")
    assert bad.status_code == 400 and json_of(bad)["error"]["param"] == "period"
    assert json_of(bad)["status"] is False


def test_webhook_stores_rows_without_their_bodies_and_a_retry_counts_nothing(organization, owner):
    key = make_key(organization, owner).key
    batch = {
        "logs": [
            flusher_row(
                key,
                "r-1",
                user_id="alice",
                session_id="sess-9",
                metadata={"team": "payments"},
                request_body={"messages": [{"role": "user", "content": "card 4111-1111"}]},
                response_body={"choices": [{"message": {"content": "private answer"}}]},
                request_headers={"authorization": "Bearer sk-prism-live"},
            ),
            flusher_row(key, "r-2", prompt_tokens="many"),
        ]
    }
    response = push(batch)
    assert response.status_code == 200
    assert IngestEnvelope.model_validate(json_of(response)).result.ingested == 1
    stored = RequestLog.objects.get(request_id="r-1")
    assert stored.organization_id == organization.pk and stored.end_user == "alice"
    assert stored.cost == Decimal("0.01234") and stored.input_tokens == 1200
    every_value = json.dumps(list(RequestLog.objects.values()), default=str)
    for private in ("4111", "private answer", "sk-prism-live"):
        assert private not in every_value
    retried = push(batch)
    assert IngestEnvelope.model_validate(json_of(retried)).result.ingested == 0
    assert RequestLog.objects.count() == 1


@pytest.mark.parametrize(
    ("path", "credentials"),
    [
        ("/agentcc/org-configs/bulk/", {"token": None}),
        ("/agentcc/api-keys/bulk/", {"token": "gw-wrong-0123456789abcdefghijklmnopqrstuvwx"}),
        ("/agentcc/spend-summary/", {"token": None}),
    ],
)
def test_a_wrong_or_missing_token_is_a_loud_401(path, credentials, caplog):
    with caplog.at_level(logging.WARNING, logger="gateway.auth"):
        response = pull(path, **credentials)
    assert response.status_code == 401 and response["Content-Type"] == "application/json"
    assert json_of(response)["status"] is False
    assert json_of(response)["error"]["type"] == "authentication_error"
    assert "Gateway API refused GET" in caplog.text


def test_the_webhook_takes_any_configured_token_as_its_secret(settings, organization, owner):
    settings.GATEWAY_TOKENS = [TOKEN, NEXT_TOKEN]
    key = make_key(organization, owner).key
    assert push({"logs": [flusher_row(key, "r-1")]}, secret=NEXT_TOKEN).status_code == 200
    # A bearer token is not the webhook's credential, and a wrong secret is refused.
    bearer_only = Client().post(
        "/agentcc/webhook/logs/", "{}", content_type="application/json", headers=bearer()
    )
    assert bearer_only.status_code == 401
    assert (
        push({"logs": []}, secret="gw-wrong-0123456789abcdefghijklmnopqrstuvwx").status_code == 401
    )


def test_the_provider_secret_is_only_in_the_bulk_config(organization, owner):
    store_provider(organization, owner)
    key = make_key(organization, owner).key
    assert CANARY.encode() in body_of(pull("/agentcc/org-configs/bulk/"))
    for response in (
        pull("/agentcc/api-keys/bulk/"),
        pull("/agentcc/spend-summary/"),
        push({"logs": [flusher_row(key, "r-1", provider=CANARY)]}),
        push(b"{" + CANARY.encode()),
        pull("/agentcc/org-configs/bulk/", token=CANARY),
    ):
        assert CANARY.encode() not in body_of(response)


def test_a_batch_that_is_not_a_batch_or_too_big_is_refused(organization, owner):
    assert push(b"not json").status_code == 400
    assert push({"rows": []}).status_code == 400
    key = make_key(organization, owner).key
    too_many = push({"logs": [flusher_row(key, f"r-{n}") for n in range(5_001)]})
    assert too_many.status_code == 413 and json_of(too_many)["status"] is False
    wrong_method = pull("/agentcc/webhook/logs/")
    assert wrong_method.status_code == 401


@pytest.mark.parametrize("body", [b"not json", b'{"logs": [' + b"1" * 100_000 + b"]}"])
def test_a_webhook_body_that_is_not_json_is_a_400_in_its_envelope(body):
    response = push(body)
    assert response.status_code == 400
    assert response.json()["status"] is False
    assert response.json()["error"]["code"] == "invalid_json"
