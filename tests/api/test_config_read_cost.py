"""The config read is the admin API's hot route: the queries one GET makes are pinned here, for
a personal access token and for an admin-scoped key, so their number cannot creep back up; and
the capabilities the API takes from a member's role are the ones their guardian grants hold."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keys.secrets import lookup
from members.access_tokens import token_lookup
from orgs.access import OrgAccess
from orgs.api_access import api_membership
from orgs.models import Membership
from orgs.permissions import organization_permissions
from tests.api.conftest import call

pytestmark = pytest.mark.django_db

# A key: the key with its creator's membership, the org and its config version; the rate-limit
# upsert. A token: the token with its user; the upsert; the membership with the org and version.
CONFIG_READ_QUERIES = {"member_token": 3, "owner_key": 2, "admin_key": 2}


def config_read_queries(world, caller: str) -> list[str]:
    path = f"/v1/orgs/{world.acme_slug}/config"
    call("GET", path, world.credentials[caller])  # a token's last use is recorded by now
    with CaptureQueriesContext(connection) as captured:
        response = call("GET", path, world.credentials[caller])
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 1 and response["ETag"] == '"1"'
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("caller", sorted(CONFIG_READ_QUERIES))
def test_a_config_read_makes_two_or_three_queries(api_world, caller):
    queries = config_read_queries(api_world, caller)
    assert len(queries) <= CONFIG_READ_QUERIES[caller], "\n".join(queries)
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


def test_an_old_secret_in_its_grace_reads_with_its_creators_role(api_world):
    # Found through the retired secret, the key's creator membership is read in a query of its own.
    rotated = call(
        "POST",
        f"/v1/keys/{api_world.keys['owner_key']}/rotate",
        api_world.credentials["owner_token"],
        {"grace": "1h"},
    )
    assert rotated.status_code == 200, rotated.content
    old, new = api_world.credentials["owner_key"], rotated.json()["key"]
    for secret in (old, new):
        response = call("GET", f"/v1/orgs/{api_world.acme_slug}/config", secret)
        assert response.status_code == 200, response.content
        assert response.json()["config"]["caching"]["enabled"] in (True, False)
        # An Owner's capability: the creator's role came with the membership.
        changed = call(
            "PATCH",
            f"/v1/orgs/{api_world.acme_slug}/config",
            secret,
            {"config": {"caching": {"ttl_seconds": 60}}},
        )
        assert changed.status_code == 200, changed.content


def field_values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


def test_the_hand_written_lookups_load_what_the_orm_loads(api_world):
    # The credential and membership lookups of every call are written out (prism_site.queries);
    # every field they load, JSON, dates and all, is the value the ORM reads for the same row.
    owner_key = lookup(api_world.credentials["owner_key"])
    token = token_lookup(api_world.credentials["member_token"])
    membership = api_membership(token.token.user, api_world.acme_slug)
    loaded = [
        owner_key.key,
        owner_key.key.organization,
        owner_key.key.organization.config_version,
        owner_key.key.created_by,
        owner_key.key.creator_membership,
        token.token,
        token.token.user,
        membership,
        membership.organization,
        membership.organization.config_version,
    ]
    for instance in loaded:
        assert instance is not None
        assert field_values(instance) == field_values(type(instance).objects.get(pk=instance.pk))
    assert owner_key.key.creator_membership.role == "owner"
    assert membership.role == "member"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_the_lookups_of_every_call_are_prepared_statements_on_postgresql(api_world):
    for caller in ("member_token", "owner_key"):
        config_read_queries(api_world, caller)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = " ".join(statement for (statement,) in cursor.fetchall())
    for table in ("members_personalaccesstoken", "keys_virtualkey", "members_membership"):
        assert f'FROM "{table}"' in prepared, prepared
