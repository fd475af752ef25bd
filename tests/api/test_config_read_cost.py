"""The config read is the admin API's hot route: the queries one GET makes are pinned here, for
a personal access token and for an admin-scoped key, so their number cannot creep back up; and
the capabilities the API takes from a member's role are the ones their guardian grants hold."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orgs.access import OrgAccess
from orgs.models import Membership
from orgs.permissions import organization_permissions
from tests.api.conftest import call

pytestmark = pytest.mark.django_db

# The credential (a key: with its creator's membership, org and config version), the rate-limit
# upsert, and for a token the membership with its org and config version.
CONFIG_READ_QUERIES = 3


def config_read_queries(world, caller: str) -> list[str]:
    path = f"/v1/orgs/{world.acme_slug}/config"
    call("GET", path, world.credentials[caller])  # a token's last use is recorded by now
    with CaptureQueriesContext(connection) as captured:
        response = call("GET", path, world.credentials[caller])
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 1 and response["ETag"] == '"1"'
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("caller", ["member_token", "owner_key", "admin_key"])
def test_a_config_read_makes_three_queries(api_world, caller):
    queries = config_read_queries(api_world, caller)
    assert len(queries) <= CONFIG_READ_QUERIES, "\n".join(queries)
    # The grants are not read, and the config version comes with the org (no second read).
    assert not any("objectpermission" in sql.lower() for sql in queries), queries
    assert not any(sql.lower().startswith('select "orgs_configversion"') for sql in queries)


def test_the_capabilities_of_a_role_are_those_its_grants_hold(api_world):
    memberships = Membership.objects.select_related("organization", "user").filter(
        organization_id=api_world.acme
    )
    assert {membership.role for membership in memberships} == {
        "owner",
        "admin",
        "member",
        "viewer",
    }
    for membership in memberships:
        assert OrgAccess.of_membership(membership).permissions == organization_permissions(
            membership.user, membership.organization
        ), membership.role
