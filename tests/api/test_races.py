"""Admin API calls racing each other (PostgreSQL row locks; SQLite has none): PATCHes of the
config from one version (one is saved, every other gets 412 and saves nothing), and retries of
one create sent at once with the same Idempotency-Key (one key, one answer for all)."""

import pytest
from django.db import connection

from keys.models import VirtualKey
from members.services import access_token_create
from orgs import selectors
from orgs.roles import Role
from tests.api.conftest import call
from tests.factories import add_member, make_organization, make_user
from tests.races import run_together

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks are what this tests"
)


@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_from_one_version_let_exactly_one_through(settings):
    settings.ADMIN_API_RATE_LIMIT_PER_MINUTE = 1000
    organization = make_organization("Race Co", owner=make_user("race-owner@example.test"))
    tokens = [
        access_token_create(user=add_member(organization, Role.ADMIN), name="race").secret
        for _ in range(6)
    ]

    def work(number):
        response = call(
            "PATCH",
            f"/v1/orgs/{organization.slug}/config",
            tokens[number],
            {"config": {"caching": {"ttl_seconds": 1000 + number}}},
            {"If-Match": '"1"'},
        )
        return response.status_code, response.json()

    outcomes = run_together(work, len(tokens))
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [200] + [412] * (len(tokens) - 1), outcomes
    (winner,) = [body for status, body in outcomes if status == 200]
    current = selectors.config_current(organization)
    assert current.number == 2
    assert current.config.caching.ttl_seconds == winner["config"]["caching"]["ttl_seconds"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_idempotency_key_create_one_key(settings):
    settings.ADMIN_API_RATE_LIMIT_PER_MINUTE = 1000
    owner = make_user("retry-owner@example.test")
    organization = make_organization("Retry Co", owner=owner)
    token = access_token_create(user=owner, name="retries").secret

    def work(number):
        response = call(
            "POST",
            f"/v1/orgs/{organization.slug}/keys",
            token,
            {"name": "provisioned"},
            {"Idempotency-Key": "provision-1"},
        )
        return response.status_code, response.json()

    outcomes = run_together(work, 5)
    assert {status for status, _ in outcomes} == {201}, outcomes
    assert len({body["key"] for _, body in outcomes}) == 1
    assert VirtualKey.objects.filter(organization=organization).count() == 1
