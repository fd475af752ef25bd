"""Config versions at the service level: save, sections, providers, conflicts, restore, audit."""

from decimal import Decimal

import pytest

from orgs import selectors, services
from orgs.config_schema import ConfigInvalid, StoredSecret
from orgs.errors import ConfigConflict
from orgs.models import AuditEvent, ConfigVersion, Organization, ProviderSecret
from prism_site.actor import Actor
from tests.factories import make_organization

OPENAI = {
    "name": "openai",
    "type": "openai",
    "api_key": "sk-proj-service-test-key-1234",
    "models": ["gpt-4o", "gpt-4o-mini"],
}


def save_budgets(organization, actor, base, **values):
    return services.config_section_update(
        organization=organization,
        actor=Actor(actor),
        base_version=base,
        section="budgets",
        values={"enabled": True, "limit": 100, "period": "monthly", **values},
    )


def test_a_new_org_starts_at_version_one_with_the_defaults(organization):
    current = selectors.config_current(organization)
    assert current.number == 1
    assert current.version.section == "initial"
    assert selectors.organization_config(organization).budgets.enabled is False


def test_a_section_save_makes_the_next_version_and_keeps_the_rest(organization, admin):
    version = save_budgets(organization, admin, 1)
    assert version.number == 2 and version.author == admin and version.section == "budgets"
    config = selectors.organization_config(organization)
    assert config.budgets.limit == Decimal("100")
    assert config.routing.strategy == "priority"
    organization.refresh_from_db()
    assert organization.config_version_id == version.pk


def test_saving_the_same_values_makes_no_version(organization, admin):
    save_budgets(organization, admin, 1)
    assert save_budgets(organization, admin, 2) is None
    assert ConfigVersion.objects.filter(organization=organization).count() == 2


def test_a_stale_edit_is_refused_with_what_changed_and_nothing_is_written(
    organization, admin, owner
):
    save_budgets(organization, admin, 1, limit=200)
    with pytest.raises(ConfigConflict) as refused:
        services.config_section_update(
            organization=organization,
            actor=Actor(owner),
            base_version=1,
            section="caching",
            values={"enabled": True},
        )
    conflict = refused.value
    assert conflict.current_version == 2 and conflict.base_version == 1
    assert "admin@example.test" in conflict.message and "version 2" in conflict.message
    assert [str(change) for change in conflict.changes] == [
        "budgets.enabled: false → true",
        "budgets.limit: null → 200",
    ]
    assert selectors.config_current(organization).number == 2
    assert selectors.organization_config(organization).caching.enabled is False


def test_a_version_number_from_the_future_is_refused(organization, admin):
    with pytest.raises(ConfigConflict, match="not a saved version"):
        save_budgets(organization, admin, 7)


def test_invalid_values_name_their_path_and_change_nothing(organization, admin):
    with pytest.raises(ConfigInvalid) as refused:
        save_budgets(organization, admin, 1, period="yearly", limit=-1)
    assert [str(error) for error in refused.value.problems] == [
        "budgets.limit: must be at least 0",
        "budgets.period: must be one of daily, weekly, monthly, total",
    ]
    assert selectors.config_current(organization).number == 1


def test_provider_add_encrypts_the_key_and_edit_with_a_blank_key_keeps_it(organization, admin):
    services.config_provider_save(
        organization=organization,
        actor=Actor(admin),
        base_version=1,
        original_name=None,
        values=OPENAI,
    )
    provider = selectors.organization_config(organization).provider("openai")
    assert isinstance(provider.api_key, StoredSecret)
    assert provider.api_key.masked == "sk-…1234"
    row = ProviderSecret.objects.get()
    assert "service-test" not in row.ciphertext
    services.config_provider_save(
        organization=organization,
        actor=Actor(admin),
        base_version=2,
        original_name="openai",
        values={**OPENAI, "name": "openai-prod", "api_key": "", "models": ["gpt-4o"]},
    )
    config = selectors.organization_config(organization)
    assert config.provider("openai") is None
    assert config.provider("openai-prod").api_key == provider.api_key
    assert selectors.provider_api_keys(organization, config) == {"openai-prod": OPENAI["api_key"]}


def test_provider_toggle_and_remove(organization, admin):
    services.config_provider_save(
        organization=organization,
        actor=Actor(admin),
        base_version=1,
        original_name=None,
        values=OPENAI,
    )
    services.config_provider_toggle(
        organization=organization, actor=Actor(admin), base_version=2, name="openai", enabled=False
    )
    assert selectors.organization_config(organization).provider("openai").enabled is False
    services.config_provider_remove(
        organization=organization, actor=Actor(admin), base_version=3, name="openai"
    )
    assert selectors.organization_config(organization).providers == []
    with pytest.raises(ConfigInvalid, match="no longer a provider"):
        services.config_provider_remove(
            organization=organization, actor=Actor(admin), base_version=4, name="openai"
        )


def test_json_document_keeps_keys_by_mask_or_absence_and_refuses_references(
    organization, admin, other_organization
):
    services.config_provider_save(
        organization=organization,
        actor=Actor(admin),
        base_version=1,
        original_name=None,
        values=OPENAI,
    )
    stored = selectors.organization_config(organization).provider("openai").api_key
    document = {"providers": [{"name": "openai", "type": "openai", "api_key": "sk-…1234"}]}
    services.config_save(
        organization=organization, actor=Actor(admin), base_version=2, document=document
    )
    assert selectors.organization_config(organization).provider("openai").api_key == stored
    document["providers"][0].pop("api_key")
    document["providers"][0]["models"] = ["gpt-4o"]
    services.config_save(
        organization=organization, actor=Actor(admin), base_version=3, document=document
    )
    assert selectors.organization_config(organization).provider("openai").api_key == stored

    # Nobody may point a provider at a stored secret by id (it could be another org's).
    document["providers"][0]["api_key"] = {"secret_id": stored.secret_id, "masked": "x"}
    with pytest.raises(ConfigInvalid, match=r"providers\[0\]\.api_key: must be the API key"):
        services.config_save(
            organization=other_organization,
            actor=Actor(admin),
            base_version=None,
            document=document,
        )

    document["providers"][0]["api_key"] = None
    services.config_save(
        organization=organization, actor=Actor(admin), base_version=4, document=document
    )
    assert selectors.organization_config(organization).provider("openai").api_key is None


def test_merge_patch_changes_only_what_it_names(organization, admin):
    save_budgets(organization, admin, 1, limit=50)
    services.config_patch(
        organization=organization,
        actor=Actor(admin),
        base_version=None,
        patch={"budgets": {"limit": None, "period": "weekly"}, "caching": {"enabled": True}},
    )
    config = selectors.organization_config(organization)
    assert config.budgets.limit is None and config.budgets.period == "weekly"
    assert config.budgets.enabled is True and config.caching.enabled is True


def test_restore_makes_a_new_version_equal_to_the_old_document(organization, admin, owner):
    save_budgets(organization, admin, 1, limit=100)
    save_budgets(organization, admin, 2, limit=250)
    version = services.config_restore(
        organization=organization, actor=Actor(owner), base_version=3, number=2
    )
    assert version.number == 4 and version.restored_from == 2
    assert (
        version.document == ConfigVersion.objects.get(organization=organization, number=2).document
    )
    event = AuditEvent.objects.filter(action="config.restore").get()
    assert event.details["restored_from"] == 2 and event.details["version"] == 4
    with pytest.raises(ConfigConflict):
        services.config_restore(
            organization=organization, actor=Actor(owner), base_version=3, number=1
        )


def test_restore_brings_back_a_removed_provider_with_its_key(organization, admin):
    services.config_provider_save(
        organization=organization,
        actor=Actor(admin),
        base_version=1,
        original_name=None,
        values=OPENAI,
    )
    services.config_provider_remove(
        organization=organization, actor=Actor(admin), base_version=2, name="openai"
    )
    services.config_restore(organization=organization, actor=Actor(admin), base_version=3, number=2)
    config = selectors.organization_config(organization)
    assert selectors.provider_api_keys(organization, config) == {"openai": OPENAI["api_key"]}


def test_every_change_is_audited_with_section_version_and_paths(organization, admin):
    save_budgets(organization, admin, 1)
    event = AuditEvent.objects.filter(action="config.update").get()
    assert event.actor == admin and event.target == "version 2"
    assert event.details == {
        "section": "budgets",
        "version": 2,
        "base_version": 1,
        "changed": ["budgets.enabled", "budgets.limit"],
    }


def test_history_lists_newest_first_with_changes_against_the_previous_version(
    organization, admin, django_assert_max_num_queries
):
    for number in range(1, 6):
        save_budgets(organization, admin, number, limit=number * 10)
    with django_assert_max_num_queries(2):
        page = selectors.config_history(organization, size=3)
    assert [entry.version.number for entry in page.rows] == [6, 5, 4]
    assert [str(change) for change in page.rows[0].changes] == ["budgets.limit: 40 → 50"]
    assert [str(line) for line in page.rows[0].lines] == ["budgets.limit: $40.00 USD → $50.00 USD"]
    older = selectors.config_history(organization, cursor=page.next_cursor, size=3)
    assert [entry.version.number for entry in older.rows] == [3, 2, 1]
    assert older.rows[-1].changes == [] and older.next_cursor is None
    # v4's changes against v3, read from outside the page.
    assert [str(change) for change in page.rows[-1].changes] == ["budgets.limit: 20 → 30"]


def test_versions_are_immutable(organization):
    version = selectors.config_current(organization).version
    with pytest.raises(ValueError, match="immutable"):
        version.save()


def test_orgs_without_a_version_read_the_defaults(db):
    organization = make_organization("Legacy")
    Organization.objects.filter(pk=organization.pk).update(config_version=None)
    assert selectors.config_current(organization).number == 0
    assert selectors.organization_config(organization).providers == []
