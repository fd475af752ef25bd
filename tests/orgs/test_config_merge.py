"""A form saved from an older version merges field by field with what was saved meanwhile:
fields the editor did not touch take the current values, a field both changed is shown with
both values, and nothing someone else saved is undone without the editor seeing it."""

import json
import re

import pytest
from django.urls import reverse

from orgs import provider_hosts, selectors, services
from orgs.errors import ConfigConflict
from prism_site.actor import Actor

HTMX = {"HX-Request": "true"}
CACHING = {"enabled": False, "mode": "exact", "ttl_seconds": 3600, "max_entries": 10_000}
CACHING_POST = {"mode": "exact", "ttl_seconds": "3600", "max_entries": "10000"}


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    monkeypatch.setattr(provider_hosts, "resolve", lambda host: ["93.184.215.14"])


def save_caching(organization, actor, base, *, merge=True, **values):
    return services.config_section_update(
        organization=organization,
        actor=Actor(actor),
        base_version=base,
        section="caching",
        values={**CACHING, **values},
        merge=merge,
    )


def section_url(organization, section):
    return reverse("orgs:config_section", args=[organization.slug, section])


def toasts(response) -> list[str]:
    return [
        t["message"] for t in json.loads(response.headers.get("HX-Trigger", "{}")).get("toast", [])
    ]


# -- Service ------------------------------------------------------------------------------------


def test_fields_the_editor_did_not_touch_take_the_current_values(organization, admin, owner):
    save_caching(organization, admin, 1, max_entries=600)
    version = save_caching(organization, owner, 1, ttl_seconds=300)
    assert version.number == 3
    caching = selectors.organization_config(organization).caching
    assert caching.ttl_seconds == 300 and caching.max_entries == 600
    assert version.merged.base_version == 1 and version.merged.taken == ["caching.max_entries"]


def test_a_field_both_changed_is_a_conflict_with_both_values(organization, admin, owner):
    save_caching(organization, admin, 1, ttl_seconds=600, max_entries=600)
    with pytest.raises(ConfigConflict) as refused:
        save_caching(organization, owner, 1, ttl_seconds=300, mode="semantic")
    conflict = refused.value
    assert [(f.location, f.theirs, f.yours) for f in conflict.fields] == [
        ("caching.ttl_seconds", 600, 300)
    ]
    field = conflict.fields[0]
    assert field.version == 2 and field.author == "admin@example.test"
    assert conflict.taken == ["caching.max_entries"]
    assert selectors.config_current(organization).number == 2


def test_the_same_change_on_both_sides_is_no_conflict(organization, admin, owner):
    save_caching(organization, admin, 1, ttl_seconds=600)
    assert save_caching(organization, owner, 1, ttl_seconds=600) is None
    version = save_caching(organization, owner, 1, ttl_seconds=600, mode="semantic")
    assert version.number == 3
    caching = selectors.organization_config(organization).caching
    assert caching.ttl_seconds == 600 and caching.mode == "semantic"


def test_values_compare_as_the_schema_reads_them(organization, admin, owner):
    budgets = selectors.organization_config(organization).budgets.model_dump(mode="json")
    services.config_section_update(
        organization=organization,
        actor=Actor(admin),
        base_version=1,
        section="budgets",
        values={**budgets, "alert_thresholds": [0.9]},
    )
    # The same thresholds in another order are no change: the others' thresholds stay.
    version = services.config_section_update(
        organization=organization,
        actor=Actor(owner),
        base_version=1,
        section="budgets",
        values={**budgets, "alert_thresholds": [1, 0.8, 0.5], "limit": "75"},
        merge=True,
    )
    saved = selectors.organization_config(organization).budgets
    assert version.number == 3 and saved.alert_thresholds == [0.9] and saved.limit == 75


def test_without_merge_a_stale_edit_is_still_refused(organization, admin, owner):
    save_caching(organization, admin, 1, max_entries=600)
    with pytest.raises(ConfigConflict) as refused:
        save_caching(organization, owner, 1, ttl_seconds=300, merge=False)
    assert refused.value.fields == []


@pytest.mark.parametrize(
    ("section", "theirs", "yours", "expected"),
    [
        (
            "routing",
            {"timeout_seconds": 90},
            {"retry": {"max_retries": 5, "backoff_ms": 250}},
            lambda c: c.routing.timeout_seconds == 90 and c.routing.retry.max_retries == 5,
        ),
        (
            "rate_limiting",
            {"rpm": 600},
            {"tpm": 1000},
            lambda c: c.rate_limiting.rpm == 600 and c.rate_limiting.tpm == 1000,
        ),
        (
            "budgets",
            {"limit": 250},
            {"period": "weekly"},
            lambda c: c.budgets.limit == 250 and c.budgets.period == "weekly",
        ),
        (
            "ip_acl",
            {"deny": ["198.51.100.0/24"]},
            {"enabled": True},
            lambda c: c.ip_acl.deny == ["198.51.100.0/24"] and c.ip_acl.enabled,
        ),
    ],
)
def test_every_section_merges(organization, admin, owner, section, theirs, yours, expected):
    defaults = selectors.organization_config(organization).model_dump(mode="json")[section]
    for actor, values in ((admin, theirs), (owner, yours)):
        services.config_section_update(
            organization=organization,
            actor=Actor(actor),
            base_version=1,
            section=section,
            values={**defaults, **values},
            merge=True,
        )
    assert selectors.config_current(organization).number == 3
    assert expected(selectors.organization_config(organization))


OPENAI = {
    "name": "openai",
    "type": "openai",
    "base_url": None,
    "api_key": None,
    "models": ["gpt-4o"],
    "enabled": True,
    "weight": 1,
    "timeout_seconds": 60,
}


def save_provider(organization, actor, base, original_name="openai", **values):
    return services.config_provider_save(
        organization=organization,
        actor=Actor(actor),
        base_version=base,
        original_name=original_name,
        values={**OPENAI, **values},
        merge=True,
    )


def test_a_provider_edit_keeps_a_disable_saved_meanwhile(organization, admin, owner):
    save_provider(organization, admin, 1, original_name=None, api_key="sk-first-provider-1111")
    services.config_provider_toggle(
        organization=organization, actor=Actor(admin), base_version=2, name="openai", enabled=False
    )
    version = save_provider(organization, owner, 2, weight=5)
    provider = selectors.organization_config(organization).provider("openai")
    assert version.number == 4 and provider.weight == 5 and provider.enabled is False
    assert provider.api_key.masked == "sk-…1111"


def test_a_provider_key_both_changed_is_a_conflict(organization, admin, owner):
    save_provider(organization, admin, 1, original_name=None, api_key="sk-first-provider-1111")
    save_provider(organization, admin, 2, api_key="sk-admin-provider-2222")
    with pytest.raises(ConfigConflict) as refused:
        save_provider(organization, owner, 2, api_key="sk-owner-provider-3333")
    [field] = refused.value.fields
    assert field.location == "providers.openai.api_key" and field.theirs == "sk-…2222"
    assert "owner-provider" not in str(field.yours)
    # A blank key field keeps the key saved meanwhile.
    save_provider(organization, owner, 2, weight=3)
    provider = selectors.organization_config(organization).provider("openai")
    assert provider.api_key.masked == "sk-…2222" and provider.weight == 3


def test_adding_a_provider_from_an_older_version_keeps_the_others(organization, admin, owner):
    save_provider(organization, admin, 1, original_name=None)
    save_provider(organization, owner, 1, original_name=None, name="groq", type="groq")
    names = [p.name for p in selectors.organization_config(organization).providers]
    assert names == ["openai", "groq"]


def test_editing_a_provider_removed_meanwhile_is_a_conflict(organization, admin, owner):
    save_provider(organization, admin, 1, original_name=None)
    services.config_provider_remove(
        organization=organization, actor=Actor(admin), base_version=2, name="openai"
    )
    with pytest.raises(ConfigConflict) as refused:
        save_provider(organization, owner, 2, weight=5)
    assert refused.value.fields == []
    assert selectors.organization_config(organization).providers == []


# -- Page ---------------------------------------------------------------------------------------


def test_save_from_an_older_version_keeps_the_other_change_and_says_so(
    client, organization, admin, owner
):
    client.force_login(admin)
    client.post(
        section_url(organization, "caching"),
        {**CACHING_POST, "max_entries": "600", "base_version": 1},
    )
    client.force_login(owner)
    response = client.post(
        section_url(organization, "caching"),
        {**CACHING_POST, "ttl_seconds": "300", "base_version": 1},
        headers=HTMX,
    )
    assert response.status_code == 200
    caching = selectors.organization_config(organization).caching
    assert caching.ttl_seconds == 300 and caching.max_entries == 600
    toast = toasts(response)[-1]
    assert toast.startswith("Saved caching as version 3.")
    assert "version 2 by admin@example.test" in toast and "caching.max_entries" in toast


def test_a_field_both_changed_shows_both_values_and_keeps_the_rest_current(
    client, organization, admin, owner
):
    client.force_login(admin)
    client.post(
        section_url(organization, "caching"),
        {**CACHING_POST, "ttl_seconds": "600", "max_entries": "600", "base_version": 1},
    )
    client.force_login(owner)
    response = client.post(
        section_url(organization, "caching"),
        {**CACHING_POST, "ttl_seconds": "300", "base_version": 1},
        headers=HTMX,
    )
    html = response.content.decode()
    assert "Conflict: version 2 was saved by admin@example.test" in html
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Time to live (seconds): both changed." in text
    assert "Yours: 300 / Theirs (v2 by admin@example.test): 600" in text
    assert 'data-use-theirs="id_caching-ttl_seconds" data-value="600"' in html
    # Yours stays in the field to choose from; the field the owner did not touch is current.
    assert 'name="ttl_seconds" value="300"' in html
    assert 'name="max_entries" value="600"' in html
    assert 'name="base_version" value="2"' in html
    assert selectors.config_current(organization).number == 2

    again = client.post(
        section_url(organization, "caching"),
        {**CACHING_POST, "ttl_seconds": "300", "max_entries": "600", "base_version": 2},
        headers=HTMX,
    )
    assert toasts(again) == ["Saved caching as version 3."]
    caching = selectors.organization_config(organization).caching
    assert caching.ttl_seconds == 300 and caching.max_entries == 600


def test_a_provider_form_from_an_older_version_merges(client, organization, admin, owner):
    save_provider(organization, admin, 1, original_name=None)
    services.config_provider_toggle(
        organization=organization, actor=Actor(admin), base_version=2, name="openai", enabled=False
    )
    client.force_login(owner)
    response = client.post(
        reverse("orgs:provider_save", args=[organization.slug]),
        {
            "original_name": "openai",
            "name": "openai",
            "type": "openai",
            "base_url": "",
            "api_key": "",
            "models": "gpt-4o",
            "enabled": "on",
            "weight": "7",
            "timeout_seconds": "60",
            "base_version": 2,
        },
        headers=HTMX,
    )
    assert toasts(response)[0].startswith("Saved providers as version 4.")
    provider = selectors.organization_config(organization).provider("openai")
    assert provider.weight == 7 and provider.enabled is False
