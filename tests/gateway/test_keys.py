"""GET /v1/gateway/keys: everything first, then only what changed since the cursor (creations,
rotations with both secrets during the grace, revocations), streamed; a forged cursor is a 400."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from keys.secrets import hash_secret
from keys.services import KeyAttributes, key_create, key_revoke, key_rotate
from prism_site.actor import Actor
from tests.gateway.conftest import gateway_get, json_of

pytestmark = pytest.mark.django_db


def sync(since=None):
    response = gateway_get("/v1/gateway/keys", **({"since": since} if since else {}))
    assert response.status_code == 200, response
    assert response.streaming and response["Content-Type"] == "application/json"
    return json_of(response)


def create(organization, owner, name, *, now=None, **attributes):
    return key_create(
        organization=organization,
        actor=Actor(owner),
        attributes=KeyAttributes(name=name, **attributes),
        now=now,
    )


def test_the_first_sync_returns_every_key_with_its_restrictions(
    organization, owner, other_organization
):
    issued = create(
        organization,
        owner,
        "checkout",
        scopes=["gateway"],
        rate_limit_rpm=60,
        allowed_ips=["10.0.0.0/8"],
        budget_limit=Decimal("25.00"),
        budget_period="monthly",
        expires_at=timezone.now() + timedelta(days=30),
    )
    other_owner = other_organization.memberships.get().user
    create(other_organization, other_owner, "elsewhere")
    page = sync()
    assert isinstance(page["next_cursor"], str)
    by_name = {entry["name"]: entry for entry in page["data"]}
    assert set(by_name) == {"checkout", "elsewhere"}
    key = by_name["checkout"]
    assert key["id"] == issued.key.public_id
    assert key["secret_hash"] == hash_secret(issued.secret)
    assert key["organization"] == {"id": organization.pk, "slug": organization.slug}
    assert key["status"] == "active" and key["scopes"] == ["gateway"]
    assert key["expires_at"] is not None and key["revoked_at"] is None
    assert key["restrictions"] == {
        "allowed_models": [],
        "allowed_ips": ["10.0.0.0/8"],
        "rate_limit_rpm": 60,
        "rate_limit_tpm": None,
        "budget": {"limit": "25.00", "period": "monthly"},
    }
    assert key["retired_secrets"] == []
    assert by_name["elsewhere"]["organization"]["slug"] == other_organization.slug
    assert issued.secret not in str(page)


def test_later_syncs_see_creations_rotations_and_revocations_only(organization, owner):
    long_ago = timezone.now() - timedelta(hours=2)
    stays = create(organization, owner, "stays", now=long_ago)
    rotated = create(organization, owner, "rotated", now=long_ago)
    revoked = create(organization, owner, "revoked", now=long_ago)
    first = sync()
    assert {entry["name"] for entry in first["data"]} == {"stays", "rotated", "revoked"}

    unchanged = sync(first["next_cursor"])
    assert unchanged["data"] == []

    created = create(organization, owner, "created")
    renewed = key_rotate(key=rotated.key, actor=Actor(owner), grace="24h")
    key_revoke(key=revoked.key, actor=Actor(owner))
    changes = {entry["name"]: entry for entry in sync(unchanged["next_cursor"])["data"]}
    assert set(changes) == {"created", "rotated", "revoked"}
    assert changes["created"]["secret_hash"] == hash_secret(created.secret)
    # During the grace both secrets open the key: the new hash, and the old one until its end.
    assert changes["rotated"]["secret_hash"] == hash_secret(renewed.secret)
    [old] = changes["rotated"]["retired_secrets"]
    assert old["secret_hash"] == hash_secret(rotated.secret)
    assert old["valid_until"] > timezone.now().isoformat()
    assert changes["revoked"]["status"] == "revoked"
    assert changes["revoked"]["revoked_at"] is not None
    assert stays.key.public_id not in {entry["id"] for entry in changes.values()}


def test_a_retired_secret_past_its_grace_is_no_longer_sent(organization, owner):
    long_ago = timezone.now() - timedelta(hours=3)
    issued = create(organization, owner, "rotated", now=long_ago)
    key_rotate(key=issued.key, actor=Actor(owner), grace="1h", now=long_ago + timedelta(minutes=1))
    [entry] = sync()["data"]
    assert entry["retired_secrets"] == []


@pytest.mark.parametrize(
    "since",
    ["not-a-cursor", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgMV0:forged:signature"],
    ids=["garbage", "forged"],
)
def test_a_cursor_this_api_did_not_give_is_a_400_naming_since(organization, owner, since):
    create(organization, owner, "checkout")
    response = gateway_get("/v1/gateway/keys", since=since)
    assert response.status_code == 400
    error = json_of(response)["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_cursor"
    assert error["param"] == "since"
    assert error["message"].startswith("since: not a cursor this API gave out")


def test_a_tampered_cursor_fails_its_signature(organization, owner):
    create(organization, owner, "checkout")
    cursor = sync()["next_cursor"]
    tampered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    assert gateway_get("/v1/gateway/keys", since=tampered).status_code == 400
