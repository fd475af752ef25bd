"""Keys over the admin API: the list in cursor pages, create (the secret once), Idempotency-Key
replays, edit, revoke, rotate with a grace period, and keys of other orgs kept out of reach."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from keys.models import VirtualKey
from keys.secrets import LookupResult, lookup
from orgs.api_requests import api_records_purge
from orgs.models import AuditEvent, IdempotentRequest, Organization
from tests.api.conftest import call, error_of
from tests.keys.conftest import bulk_keys

pytestmark = pytest.mark.django_db


def keys_path(world) -> str:
    return f"/v1/orgs/{world.acme_slug}/keys"


def create(world, body, *, caller="admin_key", idempotency_key=None):
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return call("POST", keys_path(world), world.credentials[caller], body, headers)


def test_the_list_pages_newest_first_with_a_cursor(api_world, django_assert_max_num_queries):
    organization = Organization.objects.get(pk=api_world.acme)
    bulk_keys(organization, organization.memberships.get(role="owner").user, 60, revoked_every=7)
    with django_assert_max_num_queries(9):
        first = call("GET", keys_path(api_world), api_world.credentials["member_token"])
    assert first.status_code == 200
    body = first.json()
    assert len(body["data"]) == 50 and body["next_cursor"]
    assert {"id", "name", "key_prefix", "status", "last_used_at", "allowed_models"} <= set(
        body["data"][0]
    )
    assert "secret_hash" not in first.content.decode()
    second = call(
        "GET",
        f"{keys_path(api_world)}?cursor={body['next_cursor']}",
        api_world.credentials["member_token"],
    ).json()
    ids = [key["id"] for key in body["data"] + second["data"]]
    assert len(ids) == len(set(ids)) == 65 and second["next_cursor"] is None
    revoked = call(
        "GET", f"{keys_path(api_world)}?status=revoked", api_world.credentials["member_token"]
    ).json()
    assert revoked["data"] and {key["status"] for key in revoked["data"]} == {"revoked"}
    bad = call("GET", f"{keys_path(api_world)}?status=lost", api_world.credentials["owner_key"])
    assert bad.status_code == 422 and error_of(bad)["param"] == "status"


def test_create_answers_201_with_the_secret_once_and_never_cached(api_world):
    response = create(
        api_world,
        {
            "name": "billing-worker",
            "rate_limit_rpm": 120,
            "allowed_ips": ["10.0.0.0/8"],
            "budget_limit": 25.5,
            "budget_period": "monthly",
            "metadata": {"team": "billing"},
        },
    )
    assert response.status_code == 201, response.content
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["key"].startswith("sk-prism-") and body["id"].startswith("key_")
    assert body["key_prefix"] == body["key"][:13] and body["budget_limit"] == 25.5
    assert lookup(body["key"]).result == LookupResult.OK
    read = call("GET", f"/v1/keys/{body['id']}", api_world.credentials["member_token"])
    assert read.status_code == 200 and body["key"] not in read.content.decode()
    assert read.json()["created_by"] == "admin@example.test"
    event = AuditEvent.objects.get(action="key.create", details__key_id=body["id"])
    assert event.api_key_id == api_world.keys["admin_key"]


def test_bad_attributes_are_422_naming_each_field(api_world):
    response = create(api_world, {"name": "x", "allowed_ips": ["10.0.0.0/8", "10.0.0.1/8"]})
    assert response.status_code == 422
    error = error_of(response)
    assert error["param"] == "allowed_ips[1]"
    assert "did you mean 10.0.0.0/8?" in error["message"]
    unknown = create(api_world, {"name": "x", "colour": "red"})
    assert error_of(unknown)["param"] == "colour"
    taken = create(api_world, {"name": "owner_key"})
    assert error_of(taken)["param"] == "name" and "already called" in error_of(taken)["message"]
    # A Member's token cannot hand out the admin scope (it would act with a Member's role).
    scoped = create(api_world, {"name": "x", "scopes": ["admin"]}, caller="member_token")
    assert scoped.status_code == 422 and error_of(scoped)["param"] == "scopes"


def test_an_idempotent_retry_replays_the_first_answer_and_creates_nothing(api_world):
    body = {"name": "retried", "rate_limit_rpm": 5}
    first = create(api_world, body, idempotency_key="create-retried-1")
    again = create(
        api_world, {"rate_limit_rpm": 5, "name": "retried"}, idempotency_key="create-retried-1"
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert "no-store" in again["Cache-Control"]
    assert VirtualKey.objects.filter(name="retried").count() == 1
    # The stored answer holds the secret only encrypted.
    stored = IdempotentRequest.objects.get(idempotency_key="create-retried-1")
    assert first.json()["key"] not in stored.ciphertext
    # Another request under the same key is refused; another credential has its own keys.
    other = create(api_world, {"name": "different"}, idempotency_key="create-retried-1")
    assert other.status_code == 422 and error_of(other)["code"] == "idempotency_key_reused"
    separate = create(
        api_world, body | {"name": "mine"}, caller="owner_token", idempotency_key="create-retried-1"
    )
    assert separate.status_code == 201 and separate.json()["id"] != first.json()["id"]


def test_a_refused_create_is_not_remembered(api_world):
    refused = create(api_world, {"name": ""}, idempotency_key="fix-and-retry")
    assert refused.status_code == 422
    fixed = create(api_world, {"name": "fixed"}, idempotency_key="fix-and-retry")
    assert fixed.status_code == 201


def test_idempotency_records_expire_after_a_day_and_are_purged(api_world):
    first = create(api_world, {"name": "daily"}, idempotency_key="daily-run")
    IdempotentRequest.objects.filter(idempotency_key="daily-run").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    # Past its day the key is free again: the same request creates anew (a new name is needed).
    VirtualKey.objects.filter(public_id=first.json()["id"]).update(revoked_at=timezone.now())
    second = create(api_world, {"name": "daily"}, idempotency_key="daily-run")
    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]
    IdempotentRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    purged, _windows = api_records_purge()
    assert purged >= 1 and not IdempotentRequest.objects.exists()


@pytest.mark.parametrize("header", ["", " ", "x" * 256, "tab\there"])
def test_a_malformed_idempotency_key_is_400(api_world, header):
    response = create(api_world, {"name": "k"}, idempotency_key=header or None)
    if not header:
        assert response.status_code == 201
        return
    assert response.status_code == 400 and error_of(response)["param"] == "Idempotency-Key"


def test_patch_changes_only_the_fields_sent(api_world):
    key_id = api_world.keys["gateway_key"]
    response = call(
        "PATCH",
        f"/v1/keys/{key_id}",
        api_world.credentials["owner_token"],
        {"rate_limit_rpm": 9, "metadata": {"env": "prod"}},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["rate_limit_rpm"] == 9 and body["metadata"] == {"env": "prod"}
    assert body["name"] == "gateway_key" and body["scopes"] == ["gateway"]
    cleared = call(
        "PATCH",
        f"/v1/keys/{key_id}",
        api_world.credentials["owner_token"],
        {"rate_limit_rpm": None},
    )
    assert cleared.json()["rate_limit_rpm"] is None
    bad = call(
        "PATCH", f"/v1/keys/{key_id}", api_world.credentials["owner_token"], {"rate_limit_rpm": 0}
    )
    assert bad.status_code == 422 and error_of(bad)["param"] == "rate_limit_rpm"


def test_delete_revokes_at_once_and_again_changes_nothing(api_world):
    issued = create(api_world, {"name": "short-lived"}).json()
    response = call("DELETE", f"/v1/keys/{issued['id']}", api_world.credentials["admin_key"])
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert lookup(issued["key"]).result == LookupResult.REVOKED
    again = call("DELETE", f"/v1/keys/{issued['id']}", api_world.credentials["admin_key"])
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action="key.revoke", details__key_id=issued["id"]).count() == 1


def test_rotate_hands_out_a_new_secret_and_keeps_the_old_one_for_the_grace(api_world):
    issued = create(api_world, {"name": "rotating"}).json()
    response = call(
        "POST",
        f"/v1/keys/{issued['id']}/rotate",
        api_world.credentials["admin_key"],
        {"grace": "1h"},
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new_secret = response.json()["key"]
    assert new_secret != issued["key"] and response.json()["id"] == issued["id"]
    assert lookup(new_secret).result == LookupResult.OK
    assert lookup(issued["key"]).via_grace
    later = timezone.now() + timedelta(hours=1, seconds=1)
    assert lookup(issued["key"], now=later).result == LookupResult.ROTATED
    for body in ({}, {"grace": "2h"}):
        bad = call(
            "POST", f"/v1/keys/{issued['id']}/rotate", api_world.credentials["admin_key"], body
        )
        assert bad.status_code == 422 and error_of(bad)["param"] == "grace"


def test_a_key_of_another_org_is_not_found(api_world):
    other_key = api_world.keys["outsider_key"]
    for method in ("GET", "PATCH", "DELETE"):
        response = call(method, f"/v1/keys/{other_key}", api_world.credentials["owner_token"], {})
        assert response.status_code == 404, method
    rotate = call(
        "POST",
        f"/v1/keys/{other_key}/rotate",
        api_world.credentials["owner_key"],
        {"grace": "none"},
    )
    assert rotate.status_code == 404
    assert VirtualKey.objects.get(public_id=other_key).revoked_at is None
    for key_id in ("key_0123456789abcdefghij", "nonsense", "key_%00"):
        assert (
            call("GET", f"/v1/keys/{key_id}", api_world.credentials["owner_token"]).status_code
            == 404
        )
    other_list = call(
        "GET", f"/v1/orgs/{api_world.other_slug}/keys", api_world.credentials["owner_key"]
    )
    assert other_list.status_code == 404


def test_the_purge_command_deletes_what_has_expired(api_world):
    create(api_world, {"name": "kept"}, idempotency_key="kept")
    out = StringIO()
    call_command("admin_api_purge", stdout=out)
    assert "Deleted 0 expired idempotency answers" in out.getvalue()
    assert IdempotentRequest.objects.filter(idempotency_key="kept").exists()


def test_a_call_with_a_key_shows_it_in_use_moving_last_used_at_once_a_minute(api_world):
    key = VirtualKey.objects.get(public_id=api_world.keys["admin_key"])
    VirtualKey.objects.filter(pk=key.pk).update(last_used_at=None)
    assert call("GET", keys_path(api_world), api_world.credentials["admin_key"]).status_code == 200
    first = VirtualKey.objects.get(pk=key.pk).last_used_at
    assert first is not None and timezone.now() - first < timedelta(minutes=1)
    call("GET", keys_path(api_world), api_world.credentials["admin_key"])
    assert VirtualKey.objects.get(pk=key.pk).last_used_at == first  # within the minute: no write
    VirtualKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=5))
    call("GET", keys_path(api_world), api_world.credentials["admin_key"])
    assert VirtualKey.objects.get(pk=key.pk).last_used_at > first
