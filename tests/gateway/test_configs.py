"""GET /v1/gateway/configs: every org's config with its provider keys in plaintext, an ETag that
moves with any change, 304 while nothing changed, and a query count that does not grow with orgs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orgs import services
from prism_site.actor import Actor
from tests.factories import make_organization, make_user
from tests.gateway.conftest import CANARY, body_of, gateway_get, json_of

pytestmark = pytest.mark.django_db


def store_provider(organization, actor, *, name="openai", api_key=CANARY):
    return services.config_provider_save(
        organization=organization,
        actor=Actor(actor),
        base_version=None,
        original_name=None,
        values={"name": name, "type": "openai", "api_key": api_key, "models": ["gpt-4o"]},
    )


def orgs_with_secrets(count: int, *, start: int = 0):
    owner = make_user(f"owner-{start}@example.test")
    organizations = []
    for number in range(start, start + count):
        organization = make_organization(f"Org {number:03d}", owner=owner)
        store_provider(organization, owner, api_key=f"sk-org-{number:03d}-abcdefghijklmnop")
        organizations.append(organization)
    return organizations


def test_every_org_comes_with_its_provider_keys_decrypted(organization, owner, other_organization):
    store_provider(organization, owner)
    response = gateway_get("/v1/gateway/configs")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    entries = {entry["organization"]["slug"]: entry for entry in json_of(response)["data"]}
    assert set(entries) == {organization.slug, other_organization.slug}
    configured = entries[organization.slug]
    assert configured["organization"]["id"] == organization.pk
    organization.refresh_from_db()
    assert configured["version"] == organization.config_version.number
    [provider] = configured["config"]["providers"]
    assert provider["name"] == "openai" and provider["api_key"] == CANARY
    assert entries[other_organization.slug]["config"]["providers"] == []


def test_if_none_match_answers_304_until_a_config_or_an_org_changes(organization, owner):
    first = gateway_get("/v1/gateway/configs")
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    unchanged = gateway_get("/v1/gateway/configs", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and body_of(unchanged) == b""
    assert unchanged["ETag"] == etag
    weak = gateway_get("/v1/gateway/configs", headers={"If-None-Match": f'"x", W/{etag}'})
    assert weak.status_code == 304

    store_provider(organization, owner)
    changed = gateway_get("/v1/gateway/configs", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    etag = changed["ETag"]

    services.organization_rename(organization=organization, name="Renamed", actor=Actor(owner))
    renamed = gateway_get("/v1/gateway/configs", headers={"If-None-Match": etag})
    assert renamed.status_code == 200 and renamed["ETag"] != etag
    etag = renamed["ETag"]

    make_organization("Newcomer", owner=owner)
    assert gateway_get("/v1/gateway/configs", headers={"If-None-Match": etag}).status_code == 200


def _queries(path, **headers) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = gateway_get(path, headers=headers)
        body_of(response)
    assert response.status_code in (200, 304)
    return len(queries)


def test_the_query_count_does_not_grow_with_the_number_of_orgs():
    orgs_with_secrets(3)
    few = _queries("/v1/gateway/configs")
    orgs_with_secrets(27, start=3)
    response = gateway_get("/v1/gateway/configs")
    assert len(json_of(response)["data"]) == 30
    assert [entry["config"]["providers"][0]["api_key"] for entry in json_of(response)["data"]] == [
        f"sk-org-{number:03d}-abcdefghijklmnop" for number in range(30)
    ]
    assert _queries("/v1/gateway/configs") == few
    # The poll that changes nothing reads the org table once.
    assert _queries("/v1/gateway/configs", **{"If-None-Match": response["ETag"]}) == 1
