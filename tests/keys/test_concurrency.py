"""Races on PostgreSQL: concurrent creates cannot give two active keys one name, and concurrent
rotations leave exactly one current secret with every old one retired (row locks)."""

import pytest
from django.db import connection

from keys.models import RetiredSecret, VirtualKey
from keys.secrets import lookup
from keys.services import KeyAttributes, key_create, key_rotate
from prism_site.actor import Actor
from prism_site.errors import Invalid
from tests.factories import make_organization, make_user
from tests.keys.conftest import make_key
from tests.races import run_together

THREADS = 12

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks (SELECT … FOR UPDATE) are what this tests; SQLite has none",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_concurrent_creates_with_one_name_make_one_key():
    owner = make_user()
    organization = make_organization("Race keys", owner=owner)

    outcomes = run_together(
        lambda _: key_create(
            organization=organization, actor=Actor(owner), attributes=KeyAttributes(name="shared")
        ),
        THREADS,
    )
    refused = [o for o in outcomes if isinstance(o, Invalid)]
    assert len(refused) == THREADS - 1
    assert all("already called shared" in str(error) for error in refused)
    assert VirtualKey.objects.filter(organization=organization, name="shared").count() == 1


def test_concurrent_rotations_keep_one_current_secret():
    owner = make_user()
    organization = make_organization("Race rotate", owner=owner)
    issued = make_key(organization, owner)

    outcomes = run_together(
        lambda _: key_rotate(key=issued.key, actor=Actor(owner), grace="1h"), THREADS
    )
    secrets = [outcome.secret for outcome in outcomes]
    assert len(set(secrets)) == THREADS
    key = VirtualKey.objects.get(pk=issued.key.pk)
    current = [
        secret for secret in secrets if lookup(secret).usable and not lookup(secret).via_grace
    ]
    assert len(current) == 1 and key.secret_last4 == current[0][-4:]
    # Every earlier secret (the first one and all but the last rotation's) is retired.
    assert RetiredSecret.objects.filter(key=key).count() == THREADS
    assert lookup(issued.secret).via_grace
