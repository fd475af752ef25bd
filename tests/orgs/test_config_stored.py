"""A stored config version that no longer passes the schema (written before a rule existed, or
by hand) never breaks a page: what can be read is in force, the rest is named as needing a fix."""

import html

import pytest
from django.urls import reverse

from orgs import selectors
from orgs.models import ConfigVersion, Organization

HTMX = {"HX-Request": "true"}
VALID_PROVIDER = {"name": "ok", "type": "openai", "models": ["gpt-4o"]}

BROKEN_DOCUMENTS = {
    "provider name with a trailing newline": {
        "providers": [{"name": "evil\n", "type": "openai"}, VALID_PROVIDER],
    },
    "everything wrong at once": {
        "providers": [
            "not an object",
            {"name": ["x"], "type": "nope"},
            {"type": "groq"},
            {**VALID_PROVIDER, "name": "ok-2", "models": ["gpt-4o\n", "b"], "weight": 10**30},
            VALID_PROVIDER,
        ],
        "routing": {"fallbacks": {"gpt-4o\n": ["b"], "a": "b"}, "retry": 5},
        "caching": "on",
        "rate_limiting": {"rpm": 2**63, "tpm": -1},
        "budgets": {"limit": "1e9999999", "alert_thresholds": [5, "x", None]},
        "ip_acl": {"allow": ["not a network", "10.0.0.0/8"], "deny": {"a": 1}},
        "unknown": {"deep": [1, 2]},
    },
    "duplicate provider names": {"providers": [VALID_PROVIDER, VALID_PROVIDER]},
    "not an object": ["providers"],
    "a number": 7,
}


def store(organization: Organization, document) -> ConfigVersion:
    """Write a version the way no service would: straight into the table."""
    number = selectors.config_current(organization).number + 1
    version = ConfigVersion.objects.create(
        organization=organization, number=number, document=document, section="document"
    )
    Organization.objects.filter(pk=organization.pk).update(config_version=version)
    return version


@pytest.mark.parametrize("document", BROKEN_DOCUMENTS.values(), ids=BROKEN_DOCUMENTS.keys())
def test_every_config_page_renders_a_stored_document_that_fails_validation(
    client, organization, admin, document
):
    version = store(organization, document)
    store(organization, {"caching": {"enabled": True}})
    store(organization, document)
    slug = organization.slug
    client.force_login(admin)

    page = client.get(reverse("orgs:settings", args=[slug]))
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert "needs fixing" in text

    settings_url = reverse("orgs:settings", args=[slug])
    for query in [
        *(f"section={s}" for s in ("providers", "routing", "budgets", "json", "history")),
        *(f"edit={s}" for s in ("providers", "routing", "caching", "budgets", "ip_acl", "json")),
        "edit=providers&provider=ok",
    ]:
        for headers in (HTMX, {}):
            response = client.get(f"{settings_url}?{query}", headers=headers)
            assert response.status_code == 200, query

    for url in (
        reverse("orgs:config_json", args=[slug]),
        reverse("orgs:config_history", args=[slug]),
        reverse("orgs:config_version", args=[slug, version.number]),
        reverse("orgs:config_version", args=[slug, version.number + 1]),
        reverse("orgs:config_version", args=[slug, version.number + 2]),
    ):
        assert client.get(url).status_code == 200, url


def test_the_page_names_the_stored_value_that_needs_fixing(client, organization, admin):
    store(organization, BROKEN_DOCUMENTS["provider name with a trailing newline"])
    client.force_login(admin)
    text = html.unescape(client.get(reverse("orgs:settings", args=[organization.slug])).text)
    assert "providers[0].name: must be a slug" in text
    assert '(stored: "evil\\n")' in text
    # What passes is in force and editable as before.
    assert selectors.organization_config(organization).provider("ok") is not None
    assert [p.name for p in selectors.organization_config(organization).providers] == ["ok"]


def test_saving_a_section_stores_the_config_without_the_broken_values(client, organization, admin):
    broken = store(organization, BROKEN_DOCUMENTS["everything wrong at once"])
    client.force_login(admin)
    response = client.post(
        reverse("orgs:config_section", args=[organization.slug, "caching"]),
        {
            "base_version": broken.number,
            "enabled": "on",
            "mode": "exact",
            "ttl_seconds": "60",
            "max_entries": "100",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    current = selectors.config_current(organization)
    assert current.number == broken.number + 1
    assert not current.problems
    assert [p.name for p in current.config.providers] == ["ok-2", "ok"]
    assert current.config.ip_acl.allow == ["10.0.0.0/8"]


def test_a_broken_stored_secret_reference_is_never_shown(client, organization, admin):
    store(
        organization,
        {"providers": [{**VALID_PROVIDER, "api_key": {"secret_id": "sk-live-plaintext-9999"}}]},
    )
    client.force_login(admin)
    text = client.get(reverse("orgs:settings", args=[organization.slug])).text
    assert "providers[0].api_key" in html.unescape(text)
    assert "sk-live-plaintext-9999" not in text
