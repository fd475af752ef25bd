"""Fixtures for key tests: keys made through the real service, and org configs to narrow them."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from keys import secrets
from keys.models import KeyPermission, VirtualKey, VirtualKeyUserObjectPermission
from keys.services import KeyAttributes, key_create
from orgs.roles import Role
from orgs.services import config_save
from prism_site.actor import Actor


def make_key(organization, creator, name: str = "checkout-service", **attributes):
    """A key created through the service, returned with its one-time secret."""
    return key_create(
        organization=organization,
        actor=Actor(creator),
        attributes=KeyAttributes(name=name, **attributes),
    )


def set_org_config(organization, document: dict, actor=None):
    """Save `document` as the org's next config version, as Settings > Organization does."""
    if actor is None:
        actor = organization.memberships.filter(role=Role.OWNER).first().user
    config_save(organization=organization, actor=Actor(actor), base_version=None, document=document)
    organization.refresh_from_db()
    return organization


OPENAI_AND_ANTHROPIC = {
    "providers": [
        {"name": "openai", "type": "openai", "models": ["gpt-4o", "gpt-4o-mini"]},
        {"name": "anthropic", "type": "anthropic", "models": ["claude-sonnet-4"]},
        {"name": "old", "type": "mistral", "models": ["mistral-large"], "enabled": False},
    ],
    "rate_limiting": {"enabled": True, "rpm": 1000, "tpm": 200000, "per_key_rpm": 120},
    "budgets": {"enabled": True, "limit": 500, "period": "monthly", "action": "block"},
}


@pytest.fixture
def configured_org(organization):
    set_org_config(organization, OPENAI_AND_ANTHROPIC)
    return organization


def bulk_keys(organization, creator, count: int, *, revoked_every: int = 0):
    """`count` keys inserted in bulk (for pagination and query-count tests), with the creator's
    own-key rights, like the service grants them."""
    now = timezone.now()
    keys = []
    for number in range(count):
        secret = secrets.generate_secret()
        prefix, last4 = secrets.display_parts(secret)
        keys.append(
            VirtualKey(
                organization=organization,
                public_id=secrets.generate_public_id(),
                name=f"service-{number:05d}",
                scopes=["gateway"],
                secret_hash=secrets.hash_secret(secret),
                secret_prefix=prefix,
                secret_last4=last4,
                created_by=creator,
                created_at=now,
                updated_at=now,
                rate_limit_rpm=60 if number % 3 == 0 else None,
                allowed_models=["gpt-4o-mini"] if number % 4 == 0 else [],
                revoked_at=now if revoked_every and number % revoked_every == 0 else None,
            )
        )
    created = VirtualKey.objects.bulk_create(keys, batch_size=2000)
    if not created or created[0].pk is None:
        created = list(VirtualKey.objects.filter(organization=organization).order_by("id"))
    permissions = list(
        Permission.objects.filter(
            content_type=ContentType.objects.get_for_model(VirtualKey),
            codename__in=KeyPermission.values,
        )
    )
    VirtualKeyUserObjectPermission.objects.bulk_create(
        [
            VirtualKeyUserObjectPermission(user=creator, permission=permission, content_object=key)
            for key in created
            for permission in permissions
        ],
        batch_size=2000,
    )
    return created
