"""The config over the admin API: its shape and ETag, JSON merge patch (RFC 7396), whole
replacement, If-Match (a stale edit never overwrites, also under concurrent PATCHes), versions
and restores, errors naming the JSON path, and provider keys never echoed."""

import json

import pytest

from orgs import selectors
from orgs.models import AuditEvent, ConfigVersion, Organization
from tests.api.conftest import call, error_of

pytestmark = pytest.mark.django_db

CANARY = "sk-canary-api-3c1e8f0b9d7a4c2e6b5d4f3a2e1c0b9a"


def config_path(world) -> str:
    return f"/v1/orgs/{world.acme_slug}/config"


def patch(world, config, *, caller="admin_key", if_match=None, message=None):
    body = {"config": config, **({"message": message} if message is not None else {})}
    headers = {"If-Match": if_match} if if_match is not None else {}
    return call("PATCH", config_path(world), world.credentials[caller], body, headers)


def test_get_answers_the_document_with_its_version_as_etag(api_world):
    response = call("GET", config_path(api_world), api_world.credentials["member_token"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"org_id", "version", "config", "updated_at", "updated_by"}
    assert body["org_id"] == api_world.acme_slug
    assert body["version"] == 1 and response["ETag"] == '"1"'
    assert body["updated_by"] == "owner@example.test"
    assert set(body["config"]) >= {"providers", "routing", "caching", "budgets", "ip_acl"}


def test_merge_patch_merges_objects_removes_nulls_and_replaces_lists(api_world):
    first = patch(
        api_world,
        {
            "routing": {
                "fallbacks": {"gpt-4o": ["gpt-4o-mini", "claude"]},
                "retry": {"max_retries": 5},
            },
            "ip_acl": {"allow": ["10.0.0.0/8", "192.168.0.0/16"]},
        },
        message="first",
    )
    assert first.status_code == 200, first.content
    second = patch(
        api_world,
        {
            # Nested objects merge: retry.backoff_ms stays; max_retries changes.
            "routing": {"retry": {"max_retries": 1}, "fallbacks": {"gpt-4o": None}},
            # Lists are replaced whole, not merged.
            "ip_acl": {"allow": ["172.16.0.0/12"]},
            # null removes a field: it takes its default again.
            "caching": {"ttl_seconds": None},
        },
    )
    assert second.status_code == 200, second.content
    config = second.json()["config"]
    assert config["routing"]["retry"] == {"max_retries": 1, "backoff_ms": 250}
    assert config["routing"]["fallbacks"] == {}
    assert config["ip_acl"]["allow"] == ["172.16.0.0/12"]
    assert config["caching"]["ttl_seconds"] == 3600
    assert second.json()["version"] == 3 and second["ETag"] == '"3"'
    assert ConfigVersion.objects.get(organization_id=api_world.acme, number=2).message == "first"


def test_removing_a_whole_section_with_null_restores_its_defaults(api_world):
    patch(api_world, {"budgets": {"enabled": True, "limit": 50, "period": "daily"}})
    response = patch(api_world, {"budgets": None})
    assert response.status_code == 200
    assert response.json()["config"]["budgets"]["limit"] is None


def test_an_unchanged_patch_saves_no_version(api_world):
    response = patch(api_world, {"caching": {"enabled": False}})
    assert response.status_code == 200 and response.json()["version"] == 1


def test_put_replaces_the_whole_document(api_world):
    patch(api_world, {"caching": {"enabled": True, "ttl_seconds": 60}})
    response = call(
        "PUT",
        config_path(api_world),
        api_world.credentials["owner_token"],
        {"config": {"budgets": {"enabled": True, "limit": 10, "period": "weekly"}}},
        {"If-Match": '"2"'},
    )
    assert response.status_code == 200, response.content
    config = response.json()["config"]
    assert config["caching"]["enabled"] is False and config["caching"]["ttl_seconds"] == 3600
    assert config["budgets"]["limit"] == 10


def test_a_stale_if_match_is_412_and_never_overwrites(api_world):
    assert patch(api_world, {"caching": {"ttl_seconds": 600}}, if_match='"1"').status_code == 200
    stale = patch(
        api_world, {"caching": {"ttl_seconds": 300}}, caller="owner_token", if_match='"1"'
    )
    assert stale.status_code == 412
    error = error_of(stale)
    assert error["code"] == "version_mismatch" and error["param"] == "If-Match"
    assert '"2"' in error["message"]
    current = selectors.config_current(Organization.objects.get(pk=api_world.acme))
    assert current.number == 2 and current.config.caching.ttl_seconds == 600
    # The same stale version on PUT and on a restore: refused too.
    for method, path, body in (
        ("PUT", config_path(api_world), {"config": {}}),
        ("POST", f"{config_path(api_world)}/versions/1/restore", None),
    ):
        response = call(method, path, api_world.credentials["admin_key"], body, {"If-Match": '"1"'})
        assert response.status_code == 412, (method, response.content)
    assert ConfigVersion.objects.filter(organization_id=api_world.acme).count() == 2


def test_if_match_takes_weak_and_bare_versions_and_refuses_nonsense(api_world):
    assert patch(api_world, {"caching": {"ttl_seconds": 61}}, if_match='W/"1"').status_code == 200
    assert patch(api_world, {"caching": {"ttl_seconds": 62}}, if_match="2").status_code == 200
    assert patch(api_world, {"caching": {"ttl_seconds": 63}}, if_match="*").status_code == 200
    bad = patch(api_world, {"caching": {"ttl_seconds": 64}}, if_match="yesterday")
    assert bad.status_code == 400 and error_of(bad)["param"] == "If-Match"


def test_invalid_fields_are_422_naming_the_json_path(api_world):
    response = patch(api_world, {"budgets": {"period": "yearly"}})
    assert response.status_code == 422
    error = error_of(response)
    assert error["param"] == "config.budgets.period"
    assert error["message"].startswith("config.budgets.period: must be one of")
    unknown = patch(api_world, {"routing": {"strategy": "priority", "colour": "red"}})
    assert error_of(unknown)["param"] == "config.routing.colour"
    provider = patch(api_world, {"providers": [{"name": "openai", "type": "openai", "weight": -1}]})
    assert error_of(provider)["param"] == "config.providers[0].weight"
    assert ConfigVersion.objects.filter(organization_id=api_world.acme).count() == 1


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ("{not json", 400, None),
        ("[1, 2]", 400, None),
        ({"config": [1]}, 422, "config"),
        ({"config": {}, "note": "x"}, 422, "note"),
        ({"config": {}, "message": "x" * 201}, 422, "message"),
    ],
)
def test_bad_bodies_name_what_to_fix(api_world, body, status, param):
    response = call("PATCH", config_path(api_world), api_world.credentials["owner_key"], body)
    assert response.status_code == status
    assert error_of(response)["param"] == param


def test_a_body_over_the_limit_is_413_before_it_is_read(api_world):
    big = json.dumps({"config": {"routing": {"default_model": "x" * (1024 * 1024)}}})
    response = call("PATCH", config_path(api_world), api_world.credentials["owner_key"], big)
    assert response.status_code == 413
    assert error_of(response)["type"] == "invalid_request_error"


def test_provider_keys_are_never_echoed(api_world):
    provider = {"name": "openai", "type": "openai", "api_key": CANARY, "models": ["gpt-4o"]}
    response = patch(api_world, {"providers": [provider]})
    assert response.status_code == 200
    assert CANARY not in response.content.decode()
    assert response.json()["config"]["providers"][0]["api_key"] == "sk-…0b9a"
    # Sending the list back as read keeps the stored key (its mask is not a new key).
    echoed = response.json()["config"]["providers"]
    echoed[0]["weight"] = 3
    again = patch(api_world, {"providers": echoed})
    assert (
        again.status_code == 200 and again.json()["config"]["providers"][0]["api_key"] == "sk-…0b9a"
    )
    for path in ("", "/versions", "/versions/2", "/versions/3"):
        page = call("GET", config_path(api_world) + path, api_world.credentials["member_token"])
        assert page.status_code == 200 and CANARY not in page.content.decode()
    audit = AuditEvent.objects.filter(organization_id=api_world.acme, action="config.update")
    assert CANARY not in json.dumps(list(audit.values("details", "target")))


def test_versions_are_listed_newest_first_in_cursor_pages_and_restored(api_world):
    for ttl in range(100, 100 + 22):
        assert patch(api_world, {"caching": {"ttl_seconds": ttl}}).status_code == 200
    path = f"{config_path(api_world)}/versions"
    first = call("GET", path, api_world.credentials["member_token"]).json()
    assert [entry["version"] for entry in first["data"]] == list(range(23, 3, -1))
    assert first["data"][0]["author"] == "admin@example.test"
    second = call(
        "GET", f"{path}?cursor={first['next_cursor']}", api_world.credentials["member_token"]
    )
    assert [entry["version"] for entry in second.json()["data"]] == [3, 2, 1]
    assert second.json()["next_cursor"] is None

    one = call("GET", f"{path}/2", api_world.credentials["admin_key"]).json()
    assert one["version"] == 2 and one["config"]["caching"]["ttl_seconds"] == 100
    restored = call(
        "POST", f"{path}/2/restore", api_world.credentials["admin_key"], None, {"If-Match": '"23"'}
    )
    assert restored.status_code == 200
    assert restored.json()["version"] == 24 and restored["ETag"] == '"24"'
    assert restored.json()["config"]["caching"]["ttl_seconds"] == 100
    assert call("GET", f"{path}/99", api_world.credentials["admin_key"]).status_code == 404
    missing = call("POST", f"{path}/99/restore", api_world.credentials["admin_key"])
    assert missing.status_code == 404 and error_of(missing)["type"] == "not_found_error"


def test_writes_are_audited_with_the_key_or_token_they_came_through(api_world):
    patch(api_world, {"caching": {"ttl_seconds": 901}}, caller="admin_key")
    patch(api_world, {"caching": {"ttl_seconds": 902}}, caller="owner_token")
    by_key, by_token = AuditEvent.objects.filter(
        organization_id=api_world.acme, action="config.update"
    ).order_by("id")
    assert by_key.api_key_id == api_world.keys["admin_key"]
    assert by_key.actor_email == "admin@example.test"
    assert by_token.api_key_id == "" and by_token.details["token_id"].startswith("pat_")
    assert by_token.actor_email == "owner@example.test"


def test_a_config_read_costs_a_fixed_handful_of_queries(api_world, django_assert_max_num_queries):
    # The token; its last use and its earlier rate-limit minutes (each at most once a minute);
    # the rate-limit upsert; membership with org; capabilities; the config version.
    with django_assert_max_num_queries(7):
        response = call("GET", config_path(api_world), api_world.credentials["member_token"])
    assert response.status_code == 200
