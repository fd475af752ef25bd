"""Schemathesis over /v1/openapi.json: every operation the document lists is called with
generated requests (valid and not), each with the credential its route takes. No answer may be
a server error, and every answer must match the document's own description of it.

Bounded: PRISM_API_FUZZ_EXAMPLES examples per operation (20 unless set; `make fuzz` uses more).
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from prism_site.wsgi import application

GATEWAY_TOKEN = "fuzz-gateway-0123456789abcdefghijklmnopqrstuvwxyz"
EXAMPLES = int(os.environ.get("PRISM_API_FUZZ_EXAMPLES", "20"))

schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", application)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def gateway_token(settings):
    settings.GATEWAY_TOKENS = [GATEWAY_TOKEN]


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


def _credential(path: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {GATEWAY_TOKEN}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
def test_api_answers_every_generated_request_as_documented(case):
    case.call_and_validate(
        headers=_credential(case.operation.path),
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
