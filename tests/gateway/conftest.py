"""Gateway API fixtures: the service tokens in force, and a client that sends one."""

import json

import pytest
from django.test import Client

TOKEN = "gw-primary-0123456789abcdefghijklmnopqrstuv"
NEXT_TOKEN = "gw-next-0123456789abcdefghijklmnopqrstuvwxyz"
CANARY = "sk-canary-gateway-5b8e1d0c7a9f4e2b6d3c1a0f9e8d7c6b"


@pytest.fixture(autouse=True)
def gateway_tokens(settings):
    settings.GATEWAY_TOKENS = [TOKEN]
    return settings


def bearer(token: str = TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}"}


def gateway_get(path: str, *, token: str | None = TOKEN, headers: dict | None = None, **query):
    return Client().get(
        path, query, headers={**(bearer(token) if token else {}), **(headers or {})}
    )


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def json_of(response):
    return json.loads(body_of(response))
