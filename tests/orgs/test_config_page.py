"""Settings > Organization in the browser's place: sections, in-place edits, conflicts, JSON,
history and restore, billing, provider hosts, and the page's query count."""

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from orgs import provider_hosts, selectors, services
from orgs.models import ConfigVersion
from orgs.roles import Role
from prism_site.actor import Actor
from tests.factories import add_member, make_user
from tests.orgs.reading import page_text

HTMX = {"HX-Request": "true"}
BUDGETS = {
    "enabled": "on",
    "limit": "250",
    "period": "monthly",
    "alert_thresholds": "0.5, 0.8, 1",
    "action": "block",
}


def settings_url(organization, query=""):
    return reverse("orgs:settings", args=[organization.slug]) + (f"?{query}" if query else "")


def section_url(organization, section):
    return reverse("orgs:config_section", args=[organization.slug, section])


def current_number(organization) -> int:
    return selectors.config_current(organization).number


def toasts(response) -> list[str]:
    return [
        t["message"] for t in json.loads(response.headers.get("HX-Trigger", "{}")).get("toast", [])
    ]


@pytest.fixture
def public_dns(monkeypatch):
    monkeypatch.setattr(provider_hosts, "resolve", lambda host: ["93.184.215.14"])


# -- Reading ------------------------------------------------------------------------------------


def test_members_see_every_section_read_only(client, organization, member):
    client.force_login(member)
    page = client.get(settings_url(organization, "edit=budgets")).content.decode()
    for heading in (
        "General",
        "Providers",
        "Routing",
        "Caching",
        "Rate limits",
        "Budgets",
        "IP access",
        "Config document (JSON)",
        "History",
    ):
        assert f">{heading}</h2>" in page
    assert ">Billing</h2>" not in page and "Danger zone" not in page
    sections = page[page.index("<h1>Settings") : page.index('id="section-history"')]
    assert '<form method="post"' not in sections
    assert ">Edit<" not in page and "Add provider" not in page and "Edit as JSON" not in page
    assert "Restore" not in page


def test_viewers_are_refused_and_the_nav_hides_the_page(client, organization, viewer):
    client.force_login(viewer)
    assert client.get(settings_url(organization)).status_code == 403
    overview = client.get(reverse("orgs:overview", args=[organization.slug])).content.decode()
    assert settings_url(organization) not in overview


def test_admins_get_edit_buttons_but_not_billing_or_danger(client, organization, admin):
    client.force_login(admin)
    page = client.get(settings_url(organization)).content.decode()
    assert 'aria-label="Edit budgets"' in page and "Add provider" in page
    assert ">Billing</h2>" not in page and "Danger zone" not in page


# -- Editing a section in place -------------------------------------------------------------


def test_edit_opens_the_form_in_place_and_save_swaps_back_with_a_toast(client, organization, admin):
    client.force_login(admin)
    form = client.get(settings_url(organization, "edit=budgets"), headers=HTMX).content.decode()
    assert form.lstrip().startswith('<section class="card" id="section-budgets"')
    assert 'name="base_version" value="1"' in form and "Limit (USD)" in form

    response = client.post(
        section_url(organization, "budgets"), {**BUDGETS, "base_version": 1}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "$250.00" in html and '<form method="post" action="/o' not in html.split("</section>")[0]
    assert toasts(response) == ["Saved budgets as version 2."]
    events = json.loads(response.headers["HX-Trigger"])
    assert events["configSaved"] == {"version": 2, "previous": 1}
    # History, the JSON view and the version line refresh out of band.
    assert 'id="section-history" hx-swap-oob="true"' in html and ">v2</a>" in html
    assert 'id="json-read" hx-swap-oob="true"' in html and "&quot;limit&quot;: 250" in html
    assert current_number(organization) == 2


EDITABLE = ("general", "providers", "routing", "caching", "rate_limiting", "budgets", "ip_acl")


def test_every_section_form_open_at_once_has_unique_ids(client, organization, owner):
    """Each edit form swaps in for its section; together on one page no id repeats, and each
    label names the one control of its own form."""
    client.force_login(owner)
    page = client.get(settings_url(organization)).content.decode()
    for section in (*EDITABLE, "billing", "json"):
        form = client.get(settings_url(organization, f"edit={section}"), headers=HTMX)
        start = page.index(f'<section class="card" id="section-{section}"')
        end = page.index("</section>", start) + len("</section>")
        page = page[:start] + form.content.decode() + page[end:]
    assert page.count('<form method="post"') >= 9
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
    for target in re.findall(r'<label for="([^"]+)"', page):
        assert ids.count(target) == 1, target
    for shared in ("id_enabled", "id_message", "id_base_version"):
        assert shared not in ids
    assert 'id="id_caching-enabled"' in page and 'id="id_ip_acl-enabled"' in page


def test_cancel_swaps_the_read_view_back(client, organization, admin):
    client.force_login(admin)
    html = client.get(settings_url(organization, "section=budgets"), headers=HTMX).content.decode()
    assert "Unlimited" in html and '<form method="post"' not in html


def test_validation_errors_appear_next_to_their_fields(client, organization, admin):
    client.force_login(admin)
    response = client.post(
        section_url(organization, "budgets"),
        {**BUDGETS, "limit": "-5", "period": "yearly", "base_version": 1},
        headers=HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    limit_field = html[html.index('<label for="id_budgets-limit"') :].split("</div>")[0]
    assert "budgets.limit: must be at least 0" in limit_field
    period_field = html[html.index('<label for="id_budgets-period"') :].split("</div>")[0]
    assert "budgets.period: must be one of daily, weekly, monthly, total" in period_field
    assert current_number(organization) == 1


def test_every_section_saves_through_its_form(client, organization, admin, public_dns):
    client.force_login(admin)
    posts = {
        "routing": {
            "strategy": "weighted",
            "default_model": "gpt-4o",
            "fallbacks": "gpt-4o: gpt-4o-mini, claude-sonnet-4",
            "retry_max_retries": "3",
            "retry_backoff_ms": "500",
            "timeout_seconds": "90",
        },
        "caching": {
            "enabled": "on",
            "mode": "semantic",
            "ttl_seconds": "600",
            "max_entries": "5,000",
        },
        "rate_limiting": {
            "enabled": "on",
            "rpm": "600",
            "tpm": "100,000",
            "per_key_rpm": "",
            "per_key_tpm": "20000",
        },
        "budgets": {**BUDGETS, "limit": "$1,500.50", "alert_thresholds": "50%, 90%"},
        "ip_acl": {"enabled": "on", "allow": "203.0.113.0/24\n198.51.100.7", "deny": ""},
    }
    for number, (section, values) in enumerate(posts.items(), start=1):
        response = client.post(
            section_url(organization, section), {**values, "base_version": number}
        )
        assert response.status_code == 302, response.content.decode()[:500]
        assert response["Location"].endswith(f"#section-{section}")
    config = selectors.organization_config(organization)
    assert config.routing.fallbacks == {"gpt-4o": ["gpt-4o-mini", "claude-sonnet-4"]}
    assert config.routing.retry.max_retries == 3
    assert config.caching.max_entries == 5000
    assert config.rate_limiting.tpm == 100_000 and config.rate_limiting.per_key_rpm is None
    assert config.budgets.limit == Decimal("1500.50")
    assert config.budgets.alert_thresholds == [0.5, 0.9]
    assert config.ip_acl.allow == ["203.0.113.0/24", "198.51.100.7/32"]
    assert current_number(organization) == 6


def test_without_javascript_edit_is_a_page_and_save_redirects_with_a_message(
    client, organization, admin
):
    client.force_login(admin)
    page = client.get(settings_url(organization, "edit=caching")).content.decode()
    assert "<html" in page and "Time to live (seconds)" in page
    response = client.post(
        section_url(organization, "caching"),
        {
            "enabled": "on",
            "mode": "exact",
            "ttl_seconds": "60",
            "max_entries": "10",
            "base_version": 1,
        },
        follow=True,
    )
    assert "Saved caching as version 2." in response.content.decode()
    invalid = client.post(
        section_url(organization, "caching"),
        {"mode": "exact", "ttl_seconds": "0", "max_entries": "10", "base_version": 2},
    )
    assert invalid.status_code == 400
    assert "caching.ttl_seconds: must be at least 1" in invalid.content.decode()


def test_saving_unchanged_values_says_so_and_makes_no_version(client, organization, admin):
    client.force_login(admin)
    response = client.post(
        section_url(organization, "caching"),
        {"mode": "exact", "ttl_seconds": "3600", "max_entries": "10000", "base_version": 1},
        headers=HTMX,
    )
    assert toasts(response) == ["Nothing changed; the config is still version 1."]
    assert current_number(organization) == 1


# -- Conflicts ----------------------------------------------------------------------------------


def test_a_second_editor_from_the_same_version_gets_a_conflict_not_an_overwrite(
    client, organization, admin, owner
):
    second = make_user("second-admin@example.test")
    add_member(organization, Role.ADMIN, second)
    client.force_login(admin)
    client.post(section_url(organization, "budgets"), {**BUDGETS, "base_version": 1}, follow=True)

    client.force_login(second)
    response = client.post(
        section_url(organization, "budgets"),
        {**BUDGETS, "limit": "999", "base_version": 1},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        "Conflict: version 2 was saved by admin@example.test after you started editing "
        "version 1, so your change was not saved." in html
    )
    assert "budgets.limit: null → 250" in html
    assert 'value="999"' in html  # what they typed is kept
    assert 'name="base_version" value="2"' in html  # saving again is a deliberate choice
    assert toasts(response) == ["Not saved: someone else changed the config meanwhile."]
    assert selectors.organization_config(organization).budgets.limit == 250
    assert current_number(organization) == 2

    plain = client.post(
        section_url(organization, "budgets"), {**BUDGETS, "limit": "999", "base_version": 1}
    )
    assert plain.status_code == 409 and "Conflict" in plain.content.decode()


# -- Providers ----------------------------------------------------------------------------------


def provider_post(client, organization, base, **values):
    data = {
        "name": "openai",
        "type": "openai",
        "base_url": "",
        "api_key": "",
        "models": "gpt-4o\ngpt-4o-mini",
        "enabled": "on",
        "weight": "1",
        "timeout_seconds": "60",
        "original_name": "",
        "base_version": base,
        **values,
    }
    return client.post(reverse("orgs:provider_save", args=[organization.slug]), data, headers=HTMX)


def test_providers_add_edit_keep_key_toggle_and_remove(client, organization, admin, public_dns):
    client.force_login(admin)
    html = provider_post(client, organization, 1, api_key="sk-live-page-test-9876").content.decode()
    assert "sk-…9876" in html and "sk-live-page-test" not in html

    edit = client.get(settings_url(organization, "edit=providers&provider=openai"), headers=HTMX)
    edit_html = edit.content.decode()
    assert "Stored: sk-…9876. Leave blank to keep it." in edit_html
    assert 'type="password" name="api_key"' in edit_html and '9876"' not in edit_html

    provider_post(
        client,
        organization,
        2,
        original_name="openai",
        name="openai-eu",
        base_url="https://eu.api.openai.com/v1",
        models="gpt-4o",
    )
    config = selectors.organization_config(organization)
    assert config.provider("openai-eu").api_key.masked == "sk-…9876"
    assert selectors.provider_api_keys(organization, config) == {
        "openai-eu": "sk-live-page-test-9876"
    }

    toggle = client.post(
        reverse("orgs:provider_toggle", args=[organization.slug, "openai-eu"]),
        {"base_version": 3, "enabled": "false"},
        headers=HTMX,
    )
    assert "Disabled" in toggle.content.decode()
    assert selectors.organization_config(organization).provider("openai-eu").enabled is False

    client.post(
        reverse("orgs:provider_remove", args=[organization.slug, "openai-eu"]),
        {"base_version": 4},
        headers=HTMX,
    )
    assert selectors.organization_config(organization).providers == []


def test_provider_errors_name_their_field(client, organization, admin, public_dns):
    client.force_login(admin)
    html = provider_post(
        client,
        organization,
        1,
        name="Open AI",
        type="openai_compatible",
        base_url="http://10.0.0.1",
        timeout_seconds="0",
    ).content.decode()
    assert "providers[0].name: must be a slug" in html
    assert "providers[0].base_url: must start with https://" in html
    assert "providers[0].timeout_seconds: must be at least 1" in html
    assert current_number(organization) == 1


def test_a_stale_toggle_is_refused_with_a_visible_message(client, organization, admin):
    client.force_login(admin)
    provider_post(client, organization, 1)
    response = client.post(
        reverse("orgs:provider_toggle", args=[organization.slug, "openai"]),
        {"base_version": 1, "enabled": "false"},
        headers=HTMX,
    )
    assert toasts(response)[0].startswith("Not saved. Conflict: version 2 was saved")
    assert selectors.organization_config(organization).provider("openai").enabled is True


def test_base_url_hosts_that_resolve_to_private_addresses_are_refused_unresolved_noted(
    client, organization, admin, monkeypatch, settings
):
    client.force_login(admin)
    monkeypatch.setattr(provider_hosts, "resolve", lambda host: ["10.0.0.8"])
    html = provider_post(client, organization, 1, base_url="https://llm.corp.example").content
    assert "llm.corp.example resolves to 10.0.0.8, a private" in html.decode()

    def no_answer(host):
        raise OSError("Name or service not known")

    monkeypatch.setattr(provider_hosts, "resolve", no_answer)
    response = provider_post(client, organization, 1, base_url="https://nope.example")
    assert toasts(response)[1] == (
        "nope.example did not resolve from here; the gateway will check it again when it connects"
    )
    assert selectors.organization_config(organization).provider("openai").base_url == (
        "https://nope.example"
    )

    settings.PROVIDER_ALLOW_PRIVATE_HOSTS = True
    provider_post(
        client,
        organization,
        current_number(organization),
        base_url="https://llm.corp.example",
        original_name="openai",
    )
    assert selectors.organization_config(organization).provider("openai").base_url == (
        "https://llm.corp.example"
    )


# -- JSON ---------------------------------------------------------------------------------------


def test_the_raw_json_shows_the_document_with_keys_masked(client, organization, admin, member):
    client.force_login(admin)
    provider_post(client, organization, 1, api_key="sk-json-view-secret-4321")
    client.force_login(member)
    response = client.get(reverse("orgs:config_json", args=[organization.slug]))
    body = response.json()
    assert body["version"] == 2 and body["updated_by"] == "admin@example.test"
    assert body["config"]["providers"][0]["api_key"] == "sk-…4321"
    assert "json-view-secret" not in response.content.decode()


def test_the_json_editor_saves_through_the_same_validation(client, organization, admin):
    client.force_login(admin)
    url = reverse("orgs:config_document_edit", args=[organization.slug])
    editor = client.get(settings_url(organization, "edit=json"), headers=HTMX).content.decode()
    assert "&quot;budgets&quot;" in editor

    bad = client.post(
        url, {"base_version": 1, "document": '{"budgets": {"period": "yearly"}}'}, headers=HTMX
    ).content.decode()
    assert "budgets.period: must be one of daily, weekly, monthly, total" in bad
    broken = client.post(url, {"base_version": 1, "document": '{"budgets": '}, headers=HTMX)
    assert (
        "document: not valid JSON (line 1, column 13: Expecting value)" in broken.content.decode()
    )

    client.post(
        url,
        {
            "base_version": 1,
            "document": '{"budgets": {"limit": 42}}',
            "message": "pasted from staging",
        },
        headers=HTMX,
    )
    version = selectors.config_current(organization).version
    assert version.number == 2 and version.message == "pasted from staging"
    assert selectors.organization_config(organization).budgets.limit == 42


def test_a_refused_json_edit_never_echoes_a_typed_key(client, organization, admin, public_dns):
    client.force_login(admin)
    provider_post(client, organization, 1, api_key="sk-stored-json-key-1111")
    document = {
        "providers": [
            {"name": "openai", "type": "openai", "api_key": "sk-…1111"},
            {"name": "groq", "type": "groq", "api_key": "gsk_typed-but-refused-2222"},
        ],
        "budgets": {"period": "yearly"},
    }
    response = client.post(
        reverse("orgs:config_document_edit", args=[organization.slug]),
        {"base_version": 2, "document": json.dumps(document, ensure_ascii=False)},
        headers=HTMX,
    )
    html = response.content.decode()
    assert "budgets.period: must be one of" in html
    assert "typed-but-refused" not in html
    assert "sk-…1111" in html and "…paste the key again…" in html


def test_a_refused_json_edit_shows_a_lone_surrogate_escaped(client, organization, admin):
    client.force_login(admin)
    response = client.post(
        reverse("orgs:config_document_edit", args=[organization.slug]),
        {"base_version": 1, "document": '{"budgets": {"period": "\\ud800"}}'},
    )
    html = response.content.decode()
    assert response.status_code == 400 and "budgets.period: " in html
    assert "&quot;\\ud800&quot;" in html


# -- History and restore ----------------------------------------------------------------------


def test_history_shows_the_changed_fields_and_restore_makes_a_new_equal_version(
    client, organization, admin
):
    client.force_login(admin)
    client.post(section_url(organization, "budgets"), {**BUDGETS, "base_version": 1})
    client.post(
        section_url(organization, "budgets"), {**BUDGETS, "limit": "400", "base_version": 2}
    )

    history = client.get(reverse("orgs:config_history", args=[organization.slug]))
    text = page_text(history.content.decode())
    assert "budgets.limit: $250.00 USD → $400.00 USD" in text
    assert "budgets.enabled: off → on" in text

    history_url = reverse("orgs:config_history", args=[organization.slug])
    response = client.post(
        reverse("orgs:config_restore", args=[organization.slug, 2]),
        {"base_version": 3},
        headers={**HTMX, "HX-Current-URL": f"http://testserver{history_url}#top"},
    )
    assert response["HX-Redirect"] == history_url
    restored = selectors.config_current(organization).version
    assert restored.number == 4 and restored.restored_from == 2
    assert (
        restored.document == ConfigVersion.objects.get(organization=organization, number=2).document
    )
    page = client.get(settings_url(organization)).content.decode()
    assert "Restored version 2 as version 4." in page
    assert "Restored v2" in page and "budgets.limit: $400.00 USD → $250.00 USD" in page_text(page)


def test_a_stale_restore_is_refused(client, organization, admin):
    client.force_login(admin)
    client.post(section_url(organization, "budgets"), {**BUDGETS, "base_version": 1})
    response = client.post(
        reverse("orgs:config_restore", args=[organization.slug, 1]),
        {"base_version": 1},
        follow=True,
    )
    assert "Not restored. Conflict: version 2 was saved" in response.content.decode()
    assert current_number(organization) == 2


def test_a_version_page_shows_its_document_and_changes(client, organization, admin, member):
    client.force_login(admin)
    client.post(section_url(organization, "budgets"), {**BUDGETS, "base_version": 1})
    client.force_login(member)
    html = client.get(reverse("orgs:config_version", args=[organization.slug, 2])).content.decode()
    assert "budgets.limit: none → $250.00 USD" in page_text(html)
    assert "&quot;limit&quot;: 250" in html
    assert "Restore version" not in html


def test_history_pages_are_keyset_paginated(client, organization, admin):
    for number in range(1, 26):
        services.config_section_update(
            organization=organization,
            actor=Actor(admin),
            base_version=number,
            section="budgets",
            values={"limit": number},
        )
    client.force_login(admin)
    url = reverse("orgs:config_history", args=[organization.slug])
    first = client.get(url).content.decode()
    assert ">v26</a>" in first and ">v7</a>" in first and ">v6</a>" not in first
    older_link = re.search(r'href="(\?cursor=[^"]+)"[^>]*>Older', first)[1]
    # A version saved meanwhile joins the top; the older page still starts below v7.
    services.config_section_update(
        organization=organization,
        actor=Actor(admin),
        base_version=26,
        section="budgets",
        values={"limit": 99},
    )
    older = client.get(url + older_link.replace("&amp;", "&")).content.decode()
    assert ">v6</a>" in older and ">v1</a>" in older and "Older" not in older
    assert ">v7</a>" not in older and "Newer" in older


# -- Billing ------------------------------------------------------------------------------------


def test_owners_set_the_billing_contact_in_place(client, organization, owner, admin):
    client.force_login(owner)
    url = reverse("orgs:billing", args=[organization.slug])
    bad = client.post(url, {"billing_email": "not-an-email"}, headers=HTMX).content.decode()
    assert "billing_email: enter a valid email address" in bad
    response = client.post(url, {"billing_email": "Billing@Acme.TEST"}, headers=HTMX)
    assert "billing@acme.test" in response.content.decode()
    assert toasts(response) == ["Saved the billing contact."]
    organization.refresh_from_db()
    assert organization.billing_email == "billing@acme.test"
    client.force_login(admin)
    assert client.post(url, {"billing_email": "x@y.test"}).status_code == 403


# -- Query count ------------------------------------------------------------------------------

# Measured 8: session, user, membership + org, permissions, nav memberships, current version
# (+ author), history page (+ authors), the budget banner. One more is allowed for the member's
# last-seen write.
SETTINGS_PAGE_QUERIES = 9


def test_the_page_query_count_does_not_grow_with_providers_or_versions(
    client, organization, owner, django_assert_max_num_queries, public_dns
):
    client.force_login(owner)
    url = settings_url(organization)
    client.get(url)
    with django_assert_max_num_queries(SETTINGS_PAGE_QUERIES):
        client.get(url)
    for number in range(1, 41):
        services.config_provider_save(
            organization=organization,
            actor=Actor(owner),
            base_version=number,
            original_name=None,
            values={
                "name": f"provider-{number}",
                "type": "openai",
                "api_key": f"sk-{number:020}",
                "models": ["gpt-4o"],
            },
        )
    with django_assert_max_num_queries(SETTINGS_PAGE_QUERIES):
        page = client.get(url).content.decode()
    assert len(re.findall(r"<strong>provider-\d+</strong>", page)) == 40
