"""The config schema: valid documents round-trip; every refusal names its path and the fix."""

from decimal import Decimal

import pytest

from orgs.config_schema import (
    ConfigInvalid,
    OrgConfig,
    StoredSecret,
    masked_document,
    stored_document,
    validate_document,
)

FULL_DOCUMENT = {
    "providers": [
        {
            "name": "openai-prod",
            "type": "openai",
            "base_url": "https://api.openai.com/v1",
            "api_key": {"secret_id": 7, "masked": "sk-…abcd"},
            "models": ["gpt-4o", "gpt-4o-mini"],
            "enabled": True,
            "weight": 3,
            "timeout_seconds": 30,
        },
        {
            "name": "azure",
            "type": "azure_openai",
            "base_url": "https://acme.openai.azure.com",
            "api_key": None,
            "models": [],
            "enabled": False,
            "weight": 0,
            "timeout_seconds": 600,
        },
    ],
    "routing": {
        "strategy": "weighted",
        "default_model": "gpt-4o",
        "fallbacks": {"gpt-4o": ["gpt-4o-mini", "claude-sonnet-4"]},
        "retry": {"max_retries": 10, "backoff_ms": 0},
        "timeout_seconds": 1,
    },
    "caching": {"enabled": True, "mode": "semantic", "ttl_seconds": 604800, "max_entries": 1},
    "rate_limiting": {
        "enabled": True,
        "rpm": 600,
        "tpm": None,
        "per_key_rpm": 60,
        "per_key_tpm": 1,
    },
    "budgets": {
        "enabled": True,
        "limit": 1234.5,
        "period": "total",
        "alert_thresholds": [0.25, 0.5, 1.0],
        "action": "warn",
    },
    "ip_acl": {"enabled": True, "allow": ["203.0.113.0/24", "2001:db8::/32"], "deny": []},
}


def messages(document, **kwargs) -> list[str]:
    with pytest.raises(ConfigInvalid) as refused:
        validate_document(document, **kwargs)
    return [str(error) for error in refused.value.problems]


def test_a_full_document_round_trips_through_storage():
    config = validate_document(FULL_DOCUMENT, untrusted=False)
    assert stored_document(config) == FULL_DOCUMENT
    assert validate_document(stored_document(config), untrusted=False) == config
    assert config.budgets.limit == Decimal("1234.5")
    assert config.enabled_models == ["gpt-4o", "gpt-4o-mini"]


def test_the_defaults_are_a_valid_document():
    defaults = stored_document(OrgConfig())
    assert validate_document(defaults) == OrgConfig()
    assert defaults["budgets"]["alert_thresholds"] == [0.5, 0.8, 1.0]
    assert defaults["routing"]["strategy"] == "priority"


def test_every_section_is_optional_and_missing_fields_take_defaults():
    config = validate_document({"budgets": {"limit": 10}})
    assert config.budgets.period == "monthly" and config.providers == []


def test_the_masked_document_shows_keys_only_masked():
    shown = masked_document(validate_document(FULL_DOCUMENT, untrusted=False))
    assert shown["providers"][0]["api_key"] == "sk-…abcd"
    assert shown["providers"][1]["api_key"] is None
    assert list(shown["providers"][0]) == [
        "name",
        "type",
        "base_url",
        "api_key",
        "models",
        "enabled",
        "weight",
        "timeout_seconds",
    ]


def test_a_new_key_is_text_that_never_prints():
    config = validate_document({"providers": [{"name": "x", "type": "groq", "api_key": "gsk_1"}]})
    assert "gsk_1" not in repr(config) and "gsk_1" not in str(config.providers[0])
    with pytest.raises(ValueError, match="encrypt the key before storing"):
        stored_document(config)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"budgets": {"period": "yearly"}},
            "budgets.period: must be one of daily, weekly, monthly, total",
        ),
        ({"budgets": {"limit": -1}}, "budgets.limit: must be at least 0"),
        ({"budgets": {"limit": "9.999"}}, "budgets.limit: use at most 2 decimal places"),
        ({"budgets": {"limit": True}}, "budgets.limit: must be a number (e.g. 250 or 99.50)"),
        (
            {"budgets": {"alert_thresholds": [0.5, 1.5]}},
            "budgets.alert_thresholds[1]: must be at most 1.0",
        ),
        (
            {"budgets": {"alert_thresholds": [0.5, 0.5]}},
            "budgets.alert_thresholds: list each threshold once",
        ),
        (
            {"budgets": {"currency": "EUR"}},
            "budgets.currency: unknown field; allowed fields are enabled, limit, period, "
            "alert_thresholds, action",
        ),
        (
            {"billing": {}},
            "billing: unknown section; the sections are providers, routing, caching, "
            "rate_limiting, budgets, ip_acl",
        ),
        (
            {"routing": {"strategy": "random"}},
            "routing.strategy: must be one of priority, round_robin, weighted, least_latency, "
            "cost_optimized",
        ),
        (
            {"routing": {"retry": {"max_retries": 11}}},
            "routing.retry.max_retries: must be at most 10",
        ),
        ({"routing": {"timeout_seconds": 0}}, "routing.timeout_seconds: must be at least 1"),
        (
            {"routing": {"fallbacks": {"a": ["a"]}}},
            "routing.fallbacks: a: a model cannot be its own fallback",
        ),
        ({"caching": {"ttl_seconds": 604801}}, "caching.ttl_seconds: must be at most 604800"),
        ({"caching": {"mode": "fuzzy"}}, "caching.mode: must be one of exact, semantic"),
        ({"caching": {"enabled": "yes"}}, "caching.enabled: must be true or false"),
        ({"rate_limiting": {"rpm": 0}}, "rate_limiting.rpm: must be at least 1"),
        ({"rate_limiting": {"tpm": 1.5}}, "rate_limiting.tpm: must be a whole number"),
        (
            {"ip_acl": {"deny": ["10.0.0.0/33"]}},
            "ip_acl.deny[0]: '10.0.0.0/33' is not an IP network; write a CIDR such as "
            "203.0.113.0/24 or 2001:db8::/32",
        ),
        ({"providers": {}}, "providers: must be a list"),
        (
            {"providers": [{"name": "Open AI", "type": "openai"}]},
            "providers[0].name: must be a slug: lowercase letters, digits, hyphens or underscores, "
            "starting with a letter or digit (e.g. openai-prod)",
        ),
        (
            {"providers": [{"name": "x", "type": "cohere"}]},
            "providers[0].type: must be one of openai, anthropic, azure_openai, google, bedrock, "
            "mistral, groq, openai_compatible",
        ),
        ({"providers": [{"name": "x"}]}, "providers[0].type: is required"),
        (
            {"providers": [{"name": "x", "type": "openai", "timeout_seconds": 601}]},
            "providers[0].timeout_seconds: must be at most 600",
        ),
        (
            {"providers": [{"name": "x", "type": "openai", "weight": -1}]},
            "providers[0].weight: must be at least 0",
        ),
        (
            {"providers": [{"name": "x", "type": "openai", "models": ["a", "a"]}]},
            "providers[0].models: lists a twice; list each model once",
        ),
        (
            {"providers": [{"name": "x", "type": "openai_compatible"}]},
            "providers[0].base_url: required for type openai_compatible; enter the endpoint, "
            "e.g. https://example.openai.azure.com",
        ),
        (
            {"providers": [{"name": "x", "type": "openai"}, {"name": "x", "type": "groq"}]},
            "providers[1].name: x is already used by providers[0]; provider names must be unique",
        ),
        (
            {"providers": [{"name": "x", "type": "openai", "api_key": "sk-…abcd"}]},
            "providers[0].api_key: this is a masked key; paste the full key, or leave the field "
            "out to keep the current one",
        ),
        (
            [],
            "document: must be a JSON object with the sections providers, routing, caching, "
            "rate_limiting, budgets, ip_acl",
        ),
    ],
)
def test_refusals_name_the_path_and_what_is_allowed(document, expected):
    assert messages(document) == [expected]


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        ("http://api.example.com", "must start with https://"),
        ("https://127.0.0.1/v1", "private, loopback and link-local addresses are refused"),
        ("https://10.1.2.3", "private, loopback and link-local addresses are refused"),
        ("https://169.254.169.254/latest", "private, loopback and link-local addresses"),
        ("https://[::1]:8443", "private, loopback and link-local addresses are refused"),
        ("https://[::ffff:192.168.0.1]", "private, loopback and link-local addresses"),
        ("https://localhost:8000", "localhost is a local host name and is refused"),
        ("https://models.localhost", "models.localhost is a local host name and is refused"),
        ("https://2130706433/", "private, loopback and link-local addresses are refused"),
        ("https://0x7f.1/", "private, loopback and link-local addresses are refused"),
        ("https://user:pw@api.example.com", "must not contain a user name or password"),
        ("https://api.example.com/?key=1", "must not contain a query string or fragment"),
        ("https://", "must name a host"),
        ("https://api.example.com:99999", "not a valid URL"),
    ],
)
def test_base_urls_must_be_https_to_public_hosts(base_url, problem):
    [message] = messages({"providers": [{"name": "x", "type": "openai", "base_url": base_url}]})
    assert message.startswith("providers[0].base_url: ") and problem in message


def test_private_hosts_are_allowed_when_the_setting_says_so(settings):
    settings.PROVIDER_ALLOW_PRIVATE_HOSTS = True
    config = validate_document(
        {
            "providers": [
                {
                    "name": "vllm",
                    "type": "openai_compatible",
                    "base_url": "https://10.0.0.5:8000/v1",
                }
            ]
        }
    )
    assert config.providers[0].base_url == "https://10.0.0.5:8000/v1"


def test_stored_secret_references_are_refused_from_people_and_accepted_from_storage():
    document = {
        "providers": [{"name": "x", "type": "openai", "api_key": {"secret_id": 1, "masked": "…"}}]
    }
    assert messages(document) == ["providers[0].api_key: must be the API key as text"]
    config = validate_document(document, untrusted=False)
    assert config.providers[0].api_key == StoredSecret(secret_id=1, masked="…")


def test_cidrs_are_normalised():
    config = validate_document({"ip_acl": {"allow": ["10.1.2.3/8", "203.0.113.9"]}})
    assert config.ip_acl.allow == ["10.0.0.0/8", "203.0.113.9/32"]


def test_text_postgresql_cannot_store_is_refused_with_its_path():
    assert messages({"routing": {"default_model": "gpt\x00"}}) == [
        "routing.default_model: must not contain control characters (found U+0000 at "
        "character 4); remove it"
    ]
    assert messages({"routing": {"default_model": "gpt\ud800"}})[0].startswith(
        "routing.default_model: "
    )
    assert messages({"budgets": {"alert_thresholds": [float("nan")]}}) == [
        "budgets.alert_thresholds[0]: must be a finite number"
    ]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"providers": [{"name": "evil\n", "type": "openai"}]}, "providers[0].name"),
        ({"providers": [{"name": "evil\x00", "type": "openai"}]}, "providers[0].name"),
        (
            {"providers": [{"name": "x", "type": "openai", "models": ["gpt\n"]}]},
            "providers[0].models[0]",
        ),
        (
            {"providers": [{"name": "x", "type": "openai", "models": ["gpt\u202e"]}]},
            "providers[0].models[0]",
        ),
        (
            {"providers": [{"name": "x", "type": "openai", "base_url": "https://a.example.com\n"}]},
            "providers[0].base_url",
        ),
        ({"routing": {"default_model": "gpt-4o\n"}}, "routing.default_model"),
        ({"routing": {"default_model": "gpt-4o\x1b"}}, "routing.default_model"),
        (
            {"routing": {"fallbacks": {"gpt-4o\n": ["gpt-4o-mini"]}}},
            'routing.fallbacks["gpt-4o\\n"]',
        ),
        ({"routing": {"fallbacks": {"gpt-4o": ["mini\n"]}}}, "routing.fallbacks.gpt-4o[0]"),
        ({"ip_acl": {"allow": ["10.0.0.0/8\n"]}}, "ip_acl.allow[0]"),
    ],
)
def test_trailing_newlines_and_control_characters_are_refused_with_their_path(document, path):
    [message] = messages(document)
    assert message.startswith(f"{path}: "), message
    assert "control character" in message or "must be a slug" in message


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (Decimal("1e9999999"), "budgets.limit: must be at most 999999999999.99"),
        (Decimal("-1e9999999"), "budgets.limit: must be at least 0"),
        (Decimal(2**63), "budgets.limit: must be at most 999999999999.99"),
        (Decimal("9" * 10_000), "budgets.limit: must be at most 999999999999.99"),
        (Decimal("1e-9999999"), "budgets.limit: use at most 2 decimal places"),
        (Decimal("0.001"), "budgets.limit: use at most 2 decimal places"),
        (Decimal("NaN"), "budgets.limit: must be a finite number"),
        (float("inf"), "budgets.limit: must be a finite number"),
    ],
)
def test_money_out_of_range_names_the_bound(limit, expected):
    assert messages({"budgets": {"limit": limit}}) == [expected]


def test_money_keeps_trailing_zeros_within_two_places():
    assert validate_document({"budgets": {"limit": Decimal("12.500")}}).budgets.limit == Decimal(
        "12.5"
    )
