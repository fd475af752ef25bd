"""Schemathesis over /v1/openapi.json: every operation the document lists is called with
generated requests (valid and not), each with the credential its route takes: the gateway's
token, or the personal access token of an org's Owner. Half the cases aim their path ids at that
org and one of its keys, so the generated bodies reach the services and not only the 404. No
answer may be a server error, and every answer must match the document's description of it.

Bounded: PRISM_API_FUZZ_EXAMPLES examples per operation (10 unless set; `make fuzz` uses more).
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from members.services import access_token_create
from prism_site.wsgi import application
from tests.factories import make_organization, make_user
from tests.keys.conftest import make_key

GATEWAY_TOKEN = "fuzz-gateway-0123456789abcdefghijklmnopqrstuvwxyz"
EXAMPLES = int(os.environ.get("PRISM_API_FUZZ_EXAMPLES", "10"))

schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", application)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def api_settings(settings):
    settings.GATEWAY_TOKENS = [GATEWAY_TOKEN]
    settings.ADMIN_API_RATE_LIMIT_PER_MINUTE = 1_000_000


@pytest.fixture
def owner_world():
    """An org, its Owner's personal access token and one admin-scoped key of theirs."""
    owner = make_user("fuzz-owner@example.test")
    organization = make_organization("Fuzz Org", owner=owner)
    key = make_key(organization, owner, name="fuzzed", scopes=["admin", "gateway"]).key
    token = access_token_create(user=owner, name="fuzz").secret
    return {"org_id": organization.slug, "key_id": key.public_id, "token": token}


@pytest.fixture(autouse=True)
def test_database_kept_open():
    """The requests go through the real WSGI handler, which closes the database connection when
    a request ends; inside a test that connection holds the test's transaction (Django's test
    client keeps it open the same way)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _credential(path: str, world: dict) -> dict[str, str]:
    if path.startswith("/v1/gateway/"):
        return {"Authorization": f"Bearer {GATEWAY_TOKEN}"}
    return {"Authorization": f"Bearer {world['token']}"}


def _aimed(case, world: dict) -> None:
    """Every other case names the real org and key, chosen by the generated data itself (so the
    run stays reproducible)."""
    parameters = case.path_parameters or {}
    if len(repr(case.body)) % 2:
        return
    for name in ("org_id", "key_id"):
        if name in parameters:
            parameters[name] = world[name]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
def test_api_answers_every_generated_request_as_documented(case, owner_world):
    _aimed(case, owner_world)
    case.call_and_validate(
        headers=_credential(case.operation.path, owner_world),
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )


def test_every_schema_of_the_document_has_one_name():
    """The document keys its schemas by class name: two classes of one name (a gateway and an
    admin `KeyList`) would leave one route described by the other's schema."""
    from ninja import Schema

    from prism_site.api import api

    api.get_openapi_schema()  # imports every router's module
    names: dict[str, set] = {}
    stack = [Schema]
    while stack:
        for subclass in stack.pop().__subclasses__():
            if subclass.__module__.split(".")[0] in {
                "gateway",
                "keys",
                "orgs",
                "members",
                "usage",
                "prism_site",
            }:
                names.setdefault(subclass.__name__, set()).add(subclass.__module__)
            stack.append(subclass)
    assert {name: modules for name, modules in names.items() if len(modules) > 1} == {}
