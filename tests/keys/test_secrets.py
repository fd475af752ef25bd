"""Secrets: their format, what is stored of them, and lookup by secret with the reasons it fails."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from keys import secrets
from keys.models import RetiredSecret, VirtualKey
from keys.secrets import LookupResult, lookup
from keys.services import key_revoke, key_rotate
from prism_site.actor import Actor
from tests.keys.conftest import make_key


def test_secret_format_is_prefix_40_random_base62_and_a_checksum():
    secret = secrets.generate_secret()
    assert re.fullmatch(r"sk-prism-[0-9A-Za-z]{46}", secret)
    assert secrets.is_well_formed(secret)
    assert len({secrets.generate_secret() for _ in range(200)}) == 200


def test_checksum_rejects_a_mistyped_secret():
    secret = secrets.generate_secret()
    position = len(secrets.SECRET_PREFIX) + 5
    typo = secret[:position] + ("a" if secret[position] != "a" else "b") + secret[position + 1 :]
    assert not secrets.is_well_formed(typo)
    assert not secrets.is_well_formed(secret[:-1])
    assert not secrets.is_well_formed("sk-other-" + secret[len(secrets.SECRET_PREFIX) :])
    assert not secrets.is_well_formed(secret[:-1] + "!")
    assert not secrets.is_well_formed(None)


def test_public_id_format():
    assert re.fullmatch(r"key_[0-9A-Za-z]{20}", secrets.generate_public_id())


def test_only_hash_prefix_and_last_four_are_stored(organization, owner):
    issued = make_key(organization, owner)
    key = VirtualKey.objects.get(pk=issued.key.pk)
    assert key.secret_hash == secrets.hash_secret(issued.secret)
    assert len(key.secret_hash) == 64
    assert issued.secret.startswith(key.secret_prefix)
    assert key.secret_prefix == issued.secret[:13]
    assert issued.secret.endswith(key.secret_last4)
    assert key.masked_secret == f"{issued.secret[:13]}…{issued.secret[-4:]}"


def test_lookup_finds_the_key_by_its_secret(organization, owner):
    issued = make_key(organization, owner)
    found = lookup(issued.secret)
    assert found.result == LookupResult.OK and found.usable
    assert found.key.pk == issued.key.pk
    assert found.key.organization == organization
    assert not found.via_grace


@pytest.mark.parametrize(
    "presented",
    ["", "sk-prism-", "not a key", "Bearer sk-prism-abc", "sk-prism-" + "A" * 46],
)
def test_lookup_refuses_unknown_or_malformed_secrets(organization, owner, presented):
    make_key(organization, owner)
    result = lookup(presented)
    assert result.result == LookupResult.UNKNOWN and result.key is None
    assert not result.usable and result.message


def test_lookup_refuses_a_well_formed_secret_that_was_never_issued(organization, owner):
    make_key(organization, owner)
    assert lookup(secrets.generate_secret()).result == LookupResult.UNKNOWN


def test_lookup_refuses_revoked_keys(organization, owner):
    issued = make_key(organization, owner)
    key_revoke(key=issued.key, actor=Actor(owner))
    result = lookup(issued.secret)
    assert result.result == LookupResult.REVOKED
    assert result.key.pk == issued.key.pk
    assert result.message == "This API key has been revoked."


def test_lookup_refuses_expired_keys_once_time_passes(organization, owner):
    now = timezone.now()
    issued = make_key(organization, owner, expires_at=now + timedelta(days=1))
    assert lookup(issued.secret, now=now).usable
    assert lookup(issued.secret, now=now + timedelta(days=1)).result == LookupResult.EXPIRED


def test_rotated_secret_works_during_the_grace_period_then_stops(organization, owner):
    now = timezone.now()
    issued = make_key(organization, owner)
    rotated = key_rotate(key=issued.key, actor=Actor(owner), grace="1h", now=now)
    assert rotated.key.public_id == issued.key.public_id
    assert rotated.secret != issued.secret

    new = lookup(rotated.secret, now=now)
    assert new.usable and not new.via_grace
    old = lookup(issued.secret, now=now + timedelta(minutes=59))
    assert old.usable and old.via_grace and old.key.pk == issued.key.pk

    later = now + timedelta(hours=1, seconds=1)
    assert lookup(issued.secret, now=later).result == LookupResult.ROTATED
    assert lookup(rotated.secret, now=later).usable


def test_rotation_without_grace_stops_the_old_secret_at_once(organization, owner):
    now = timezone.now()
    issued = make_key(organization, owner)
    rotated = key_rotate(key=issued.key, actor=Actor(owner), grace="none", now=now)
    assert lookup(issued.secret, now=now).result == LookupResult.ROTATED
    assert lookup(rotated.secret, now=now).usable


def test_rotating_again_shortens_earlier_grace_periods(organization, owner):
    now = timezone.now()
    first = make_key(organization, owner)
    second = key_rotate(key=first.key, actor=Actor(owner), grace="7d", now=now)
    third = key_rotate(
        key=second.key, actor=Actor(owner), grace="1h", now=now + timedelta(minutes=5)
    )
    two_hours_later = now + timedelta(hours=2)
    assert lookup(first.secret, now=two_hours_later).result == LookupResult.ROTATED
    assert lookup(second.secret, now=two_hours_later).result == LookupResult.ROTATED
    assert lookup(third.secret, now=two_hours_later).usable
    assert lookup(second.secret, now=now + timedelta(minutes=30)).usable


def test_revoking_stops_secrets_still_in_their_grace_period(organization, owner):
    now = timezone.now()
    issued = make_key(organization, owner)
    key_rotate(key=issued.key, actor=Actor(owner), grace="24h", now=now)
    key_revoke(key=issued.key, actor=Actor(owner), now=now + timedelta(minutes=1))
    assert lookup(issued.secret, now=now + timedelta(minutes=2)).result == LookupResult.REVOKED
    assert not RetiredSecret.objects.filter(valid_until__gt=now + timedelta(minutes=1)).exists()


def test_expired_key_refuses_its_grace_secret_too(organization, owner):
    now = timezone.now()
    issued = make_key(organization, owner, expires_at=now + timedelta(minutes=30))
    key_rotate(key=issued.key, actor=Actor(owner), grace="24h", now=now)
    assert lookup(issued.secret, now=now + timedelta(hours=1)).result == LookupResult.EXPIRED


def test_lookup_uses_the_hash_index_in_two_queries_at_most(
    organization, owner, django_assert_max_num_queries
):
    issued = make_key(organization, owner)
    rotated = key_rotate(key=issued.key, actor=Actor(owner), grace="1h")
    with django_assert_max_num_queries(1):
        assert lookup(rotated.secret).usable
    with django_assert_max_num_queries(2):
        assert lookup(issued.secret).usable
    with django_assert_max_num_queries(0):
        assert not lookup("sk-prism-bad").usable
