"""Fixtures for key tests: keys made through the real service, and org configs to narrow them."""

import pytest

from keys.services import KeyAttributes, key_create
from orgs.config_schema import stored_document, validate_document
from orgs.models import ConfigVersion


def make_key(organization, creator, name: str = "checkout-service", **attributes):
    """A key created through the service, returned with its one-time secret."""
    return key_create(
        organization=organization, actor=creator, attributes=KeyAttributes(name=name, **attributes)
    )


def set_org_config(organization, document: dict):
    """Make `document` the org's current config version (what Settings > Organization saves)."""
    config = validate_document(document)
    number = (
        organization.config_versions.order_by("-number").values_list("number", flat=True).first()
        or 0
    ) + 1
    version = ConfigVersion.objects.create(
        organization=organization,
        number=number,
        document=stored_document(config),
        section="document",
    )
    organization.config_version = version
    organization.save(update_fields=["config_version"])
    return config


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
