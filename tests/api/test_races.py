"""Two scripts PATCHing the config from the same version at once over the API: one is saved,
every other gets 412 and saves nothing (PostgreSQL row locks; SQLite has none)."""

import pytest
from django.db import connection

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
