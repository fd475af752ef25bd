"""A provider secret leaves the control plane only in the gateway's config sync: no other
gateway answer (keys, spend, logs, errors, the OpenAPI document) ever carries it."""

import pytest
from django.test import Client

from tests.gateway.conftest import CANARY, body_of, gateway_get
from tests.gateway.test_configs import store_provider
from tests.gateway.test_logs import post_logs, row
from tests.keys.conftest import make_key

pytestmark = pytest.mark.django_db


def test_the_provider_secret_is_only_in_the_config_sync(organization, owner):
    store_provider(organization, owner)
    key = make_key(organization, owner).key
    assert CANARY.encode() in body_of(gateway_get("/v1/gateway/configs"))

    answers = [
        gateway_get("/v1/gateway/keys"),
        gateway_get("/v1/gateway/spend"),
        gateway_get("/v1/gateway/spend", period="nope"),
        gateway_get("/v1/gateway/keys", since="forged"),
        gateway_get("/v1/gateway/configs", token=None),
        gateway_get("/v1/gateway/configs", token=CANARY),
        gateway_get("/v1/no/such/thing"),
        post_logs({"logs": [row(key, "r-1"), row(key, "r-2", provider=CANARY, model=123)]}),
        post_logs(b"{" + CANARY.encode()),
        Client().get("/v1/openapi.json"),
    ]
    for response in answers:
        assert CANARY.encode() not in body_of(response), response.request["PATH_INFO"]
