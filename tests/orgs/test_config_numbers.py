"""Every number a config section form or the JSON editor reads: out-of-range, overflowing,
non-finite and over-long values are a field error naming the field, never a 500."""

import html
import re

import pytest
from django.urls import reverse

from orgs import selectors

HTMX = {"HX-Request": "true"}

# Marks the module as using the database, so the test database exists for the shared org.
pytestmark = pytest.mark.django_db


# The organization is built once for the module (tests/conftest.py `shared_org`).
@pytest.fixture
def organization(shared_organization):
    return shared_organization


@pytest.fixture
def owner(shared_owner):
    return shared_owner


@pytest.fixture
def admin(shared_admin):
    return shared_admin


BAD_NUMBERS = {
    "1e9999999": "1e9999999",
    "-1e9999999": "-1e9999999",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "2^63": str(2**63),
    "-2^63": str(-(2**63)),
    "10,000 digits": "9" * 10_000,
    "1e-9999999": "1e-9999999",
    "1e9999999%": "1e9999999%",
}
VALID = {
    "routing": {
        "strategy": "priority",
        "default_model": "",
        "fallbacks": "",
        "retry_max_retries": "2",
        "retry_backoff_ms": "250",
        "timeout_seconds": "60",
    },
    "caching": {"enabled": "on", "mode": "exact", "ttl_seconds": "60", "max_entries": "100"},
    "rate_limiting": {
        "enabled": "on",
        "rpm": "60",
        "tpm": "",
        "per_key_rpm": "",
        "per_key_tpm": "",
    },
    "budgets": {
        "enabled": "on",
        "limit": "100",
        "period": "monthly",
        "alert_thresholds": "0.5, 1",
        "action": "block",
    },
}
# Form field → the config path its error starts with.
NUMBER_FIELDS = {
    ("routing", "retry_max_retries"): "routing.retry.max_retries",
    ("routing", "retry_backoff_ms"): "routing.retry.backoff_ms",
    ("routing", "timeout_seconds"): "routing.timeout_seconds",
    ("caching", "ttl_seconds"): "caching.ttl_seconds",
    ("caching", "max_entries"): "caching.max_entries",
    ("rate_limiting", "rpm"): "rate_limiting.rpm",
    ("rate_limiting", "tpm"): "rate_limiting.tpm",
    ("rate_limiting", "per_key_rpm"): "rate_limiting.per_key_rpm",
    ("rate_limiting", "per_key_tpm"): "rate_limiting.per_key_tpm",
    ("budgets", "limit"): "budgets.limit",
    ("budgets", "alert_thresholds"): "budgets.alert_thresholds",
    ("providers", "weight"): "providers",
    ("providers", "timeout_seconds"): "providers",
}
PROVIDER = {
    "name": "openai",
    "type": "openai",
    "base_url": "",
    "api_key": "",
    "models": "gpt-4o",
    "enabled": "on",
    "weight": "1",
    "timeout_seconds": "60",
    "original_name": "",
}


def errors_in(page: str) -> list[str]:
    return [
        html.unescape(text).strip()
        for text in re.findall(r'<p class="error" role="alert">(.*?)</p>', page, re.S)
    ]


@pytest.mark.parametrize("value", BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
@pytest.mark.parametrize(
    ("section", "field"), NUMBER_FIELDS, ids=[".".join(key) for key in NUMBER_FIELDS]
)
def test_a_bad_number_in_a_section_form_is_an_error_naming_the_field(
    client, organization, admin, section, field, value
):
    client.force_login(admin)
    before = selectors.config_current(organization).number
    if section == "providers":
        url = reverse("orgs:provider_save", args=[organization.slug])
        data = {**PROVIDER, field: value}
    else:
        url = reverse("orgs:config_section", args=[organization.slug, section])
        data = {**VALID[section], field: value}
    for headers, status in ((HTMX, 200), ({}, 400)):
        response = client.post(url, {**data, "base_version": before}, headers=headers)
        assert response.status_code == status
        errors = errors_in(response.content.decode())
        path = NUMBER_FIELDS[section, field]
        assert errors and all(error.startswith(path) for error in errors), errors
        assert selectors.config_current(organization).number == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (str(2**63), "caching.ttl_seconds: must be at most 604800"),
        ("9" * 10_000, "caching.ttl_seconds: must be at most 604800"),
        ("-" + "9" * 10_000, "caching.ttl_seconds: must be at least 1"),
        ("0" * 10_000 + "60", None),
    ],
)
def test_long_whole_numbers_are_read_as_numbers(client, organization, admin, value, expected):
    client.force_login(admin)
    response = client.post(
        reverse("orgs:config_section", args=[organization.slug, "caching"]),
        {**VALID["caching"], "ttl_seconds": value, "base_version": 1},
        headers=HTMX,
    )
    assert errors_in(response.content.decode()) == ([expected] if expected else [])


JSON_NUMBERS = {
    "1e400": "1e400",
    "-1e400": "-1e400",
    "5,000 digits": "9" * 5_000,
    "-5,000 digits": "-" + "9" * 5_000,
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
}


@pytest.mark.parametrize("number", JSON_NUMBERS.values(), ids=JSON_NUMBERS.keys())
@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("caching.ttl_seconds", '{"caching": {"ttl_seconds": N}}'),
        ("rate_limiting.rpm", '{"rate_limiting": {"rpm": N}}'),
        ("routing.retry.backoff_ms", '{"routing": {"retry": {"backoff_ms": N}}}'),
        ("budgets.limit", '{"budgets": {"limit": N}}'),
        ("budgets.alert_thresholds[0]", '{"budgets": {"alert_thresholds": [N]}}'),
        ("providers[0].weight", '{"providers": [{"name": "a", "type": "groq", "weight": N}]}'),
    ],
)
def test_a_bad_json_number_is_an_error_naming_its_path(
    client, organization, admin, path, template, number
):
    client.force_login(admin)
    response = client.post(
        reverse("orgs:config_document_edit", args=[organization.slug]),
        {"document": template.replace("N", number), "base_version": 1},
        headers=HTMX,
    )
    assert response.status_code == 200
    [error] = errors_in(response.content.decode())
    assert error.startswith(f"{path}: must be "), error


def test_a_huge_json_integer_names_the_bound():
    from orgs.config_schema import ConfigInvalid, validate_document
    from orgs.forms import ConfigDocumentForm

    form = ConfigDocumentForm(
        {"document": '{"caching": {"ttl_seconds": %s}}' % ("9" * 5000), "base_version": 1}
    )
    assert form.is_valid(), form.errors
    with pytest.raises(ConfigInvalid, match=r"^caching.ttl_seconds: must be at most 604800$"):
        validate_document(form.values())


@pytest.mark.parametrize("note", ["line one\nline two", "right-to-left \u202e override", "x\x01y"])
def test_a_change_note_with_control_characters_is_refused(client, organization, admin, note):
    client.force_login(admin)
    before = selectors.config_current(organization).number
    url = reverse("orgs:config_section", args=[organization.slug, "caching"])
    data = {**VALID["caching"], "base_version": before, "message": note}
    response = client.post(url, data, headers=HTMX)
    assert response.status_code == 200
    assert "message: must not contain control characters" in response.content.decode()
    assert selectors.config_current(organization).number == before
