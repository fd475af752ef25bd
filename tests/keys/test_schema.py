"""The KeyAttributes schema on its own: each bound, each error naming its field (and, for the
API, the entry's path), and the rules that need the org when the services give them."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from keys.models import VirtualKey
from keys.permissions import key_rights
from keys.schema import (
    BUDGET_LIMIT_MAX,
    METADATA_MAX_ENTRIES,
    METADATA_MAX_LENGTH,
    RATE_LIMIT_MAX,
    KeyAttributes,
    KeyAttributesInvalid,
    KeyRules,
)
from orgs.roles import ROLE_CAPABILITIES, Role

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def problems(**attributes) -> dict[str, str]:
    """{path: "field: message"} for attributes the schema refuses."""
    attributes.setdefault("name", "checkout")
    with pytest.raises(KeyAttributesInvalid) as refused:
        KeyAttributes.checked(attributes)
    return {error.path: str(error) for error in refused.value.field_errors}


def accepted(**attributes) -> KeyAttributes:
    return KeyAttributes.checked({"name": "checkout", **attributes})


# -- Rate limits ---------------------------------------------------------------------------------

WHOLE = "enter a whole number of at least 1, or leave it empty for no limit."


@pytest.mark.parametrize("field", ["rate_limit_rpm", "rate_limit_tpm"])
def test_a_rate_limit_is_a_whole_number_from_1_to_what_the_column_holds(field):
    assert getattr(accepted(**{field: 1}), field) == 1
    assert getattr(accepted(**{field: RATE_LIMIT_MAX}), field) == RATE_LIMIT_MAX
    assert getattr(accepted(**{field: None}), field) is None
    assert problems(**{field: RATE_LIMIT_MAX + 1}) == {
        field: f"{field}: must be at most {RATE_LIMIT_MAX}."
    }
    for value in (0, -5, 1.5, 5.0, "5", True, float("nan"), float("inf")):
        assert problems(**{field: value}) == {field: f"{field}: {WHOLE}"}, value


# -- Budget ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (0, Decimal("0")),
        (50, Decimal("50")),
        (12.5, Decimal("12.50")),
        (Decimal("-0"), Decimal("0")),
        (Decimal("0E+99999999"), Decimal("0")),
        (BUDGET_LIMIT_MAX, BUDGET_LIMIT_MAX),
    ],
)
def test_a_budget_the_column_holds_is_kept_in_whole_cents(value, stored):
    attributes = accepted(budget_limit=value, budget_period="monthly")
    assert attributes.budget_limit == stored and str(attributes.budget_limit) != "-0.00"


UNREADABLE = "enter an amount in USD such as 50 or 12.50, or leave it empty."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Decimal("NaN"), UNREADABLE),
        (Decimal("sNaN"), UNREADABLE),
        (Decimal("Infinity"), UNREADABLE),
        (float("-inf"), UNREADABLE),
        ("12.50", UNREADABLE),
        (True, UNREADABLE),
        (Decimal("-1"), "enter an amount in USD of 0 or more, or leave it empty."),
        (BUDGET_LIMIT_MAX + Decimal("0.01"), f"must be at most {BUDGET_LIMIT_MAX}."),
        (Decimal("1e9999999"), f"must be at most {BUDGET_LIMIT_MAX}."),
        pytest.param(10**5000, f"must be at most {BUDGET_LIMIT_MAX}.", id="10**5000"),
        (Decimal("0.001"), "use at most 2 decimal places (whole cents)."),
        (Decimal("1e-9999999"), "use at most 2 decimal places (whole cents)."),
    ],
)
def test_a_budget_the_column_cannot_hold_names_the_fix(value, message):
    assert problems(budget_limit=value, budget_period="daily") == {
        "budget_limit": f"budget_limit: {message}"
    }


def test_a_budget_needs_its_amount_and_its_period_together():
    assert problems(budget_limit=10) == {
        "budget_period": "budget_period: choose the period the budget applies to "
        "(daily, weekly, ...)."
    }
    assert problems(budget_period="weekly") == {
        "budget_limit": "budget_limit: enter the budget in USD for that period, or clear the "
        "period."
    }
    assert problems(budget_limit=10, budget_period="yearly") == {
        "budget_period": "budget_period: must be one of daily, weekly, monthly, total."
    }
    # A broken amount still counts as given: the period is asked for beside its own error.
    assert set(problems(budget_limit=Decimal(-1))) == {"budget_limit", "budget_period"}


# -- Text -----------------------------------------------------------------------------------------


def test_the_name_is_trimmed_and_between_1_and_100_characters():
    assert accepted(name="  payments  ").name == "payments"
    assert accepted(name="x" * 100).name == "x" * 100
    given = "name: give the key a name, such as the service that will use it."
    assert problems(name="   ") == {"name": given}
    assert problems(name="x" * 101) == {"name": "name: use at most 100 characters."}
    with pytest.raises(KeyAttributesInvalid) as refused:
        KeyAttributes.checked({})
    assert refused.value.errors == {"name": [given]}


@pytest.mark.parametrize(
    ("attributes", "path"),
    [
        ({"name": "a\x00b"}, "name"),
        ({"allowed_models": ["gpt-4o", "gpt-4o-mini", "gpt\x00"]}, "allowed_models.2"),
        ({"allowed_ips": ["10.0.0.0/8", "\x00"]}, "allowed_ips.1"),
        ({"metadata": {"team": "pay\x00ments"}}, "metadata"),
    ],
)
def test_a_null_character_is_refused_at_its_entry(attributes, path):
    field = path.split(".")[0]
    assert problems(**attributes) == {path: f"{field}: remove the null character (\\x00)."}


def test_models_are_trimmed_sorted_and_distinct():
    models = accepted(allowed_models=[" gpt-4o ", "claude", "gpt-4o", "", "  "]).allowed_models
    assert models == ["claude", "gpt-4o"]


def test_ip_ranges_are_normalised_and_each_bad_entry_named():
    ips = accepted(allowed_ips=["10.0.0.1", "10.0.0.1/32", " ", "2001:db8::/32"]).allowed_ips
    assert ips == ["10.0.0.1/32", "2001:db8::/32"]
    assert problems(allowed_ips=["10.0.0.0/8", "10.0.0.1/8", "not-an-ip", "x" * 500]) == {
        "allowed_ips.1": "allowed_ips: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?",
        "allowed_ips.2": "allowed_ips: not-an-ip is not an IP address or CIDR range (10.0.0.0/8).",
        "allowed_ips.3": f"allowed_ips: {'x' * 60}… is not an IP address or CIDR range "
        "(10.0.0.0/8).",
    }


def test_scopes_are_known_distinct_and_at_least_one():
    assert accepted().scopes == ["gateway"]
    assert accepted(scopes=["gateway", "admin", "gateway"]).scopes == ["admin", "gateway"]
    assert problems(scopes=[]) == {
        "scopes": "scopes: choose at least one scope (gateway to send requests through Prism)."
    }
    assert problems(scopes=["gateway", "root"]) == {
        "scopes": "scopes: root is not a scope; use gateway and/or admin."
    }


def test_metadata_is_text_within_its_bounds():
    assert accepted(metadata={"team": "payments"}).metadata == {"team": "payments"}
    text_only = "metadata: keys and values must be text, and keys must not be empty."
    for metadata in ({"team": 5}, {"": "x"}, ["team=payments"]):
        assert problems(metadata=metadata) == {"metadata": text_only}, metadata
    many = {f"k{number}": "v" for number in range(METADATA_MAX_ENTRIES + 1)}
    assert problems(metadata=many) == {
        "metadata": f"metadata: use at most {METADATA_MAX_ENTRIES} entries."
    }
    assert problems(metadata={"team": "x" * (METADATA_MAX_LENGTH + 1)}) == {
        "metadata": f"metadata: team: keep keys within 100 and values within "
        f"{METADATA_MAX_LENGTH} characters."
    }


# -- An API request body --------------------------------------------------------------------------


def test_a_json_body_is_read_and_every_problem_named_by_its_path():
    body = json.loads(
        '{"name": " svc ", "rate_limit_rpm": 60, "budget_limit": 12.5, "budget_period": "daily",'
        ' "expires_at": "2030-06-01T00:00:00Z", "allowed_models": ["gpt-4o"]}'
    )
    attributes = KeyAttributes.checked(body)
    assert (attributes.name, attributes.budget_limit) == ("svc", Decimal("12.50"))
    assert attributes.expires_at == datetime(2030, 6, 1, tzinfo=UTC)

    broken = json.loads(
        '{"name": "", "rate_limit_tpm": 0, "allowed_models": ["a", 7], "colour": "red",'
        ' "expires_at": "2030-06-01T00:00"}'
    )
    with pytest.raises(KeyAttributesInvalid) as refused:
        KeyAttributes.checked(broken)
    paths = {error.path: error.message for error in refused.value.field_errors}
    assert paths == {
        "name": "give the key a name, such as the service that will use it.",
        "rate_limit_tpm": WHOLE,
        "allowed_models.1": "must be text.",
        "colour": "unknown field; the fields are name, scopes, expires_at, rate_limit_rpm, "
        "rate_limit_tpm, allowed_models, allowed_ips, budget_limit, budget_period, metadata.",
        "expires_at": "include the time zone, such as 2030-01-31T12:00:00Z.",
    }
    # The page's form reads the same errors by field.
    assert refused.value.errors["allowed_models"] == ["allowed_models: must be text."]


def test_the_schema_describes_the_body_for_the_api_docs():
    schema = KeyAttributes.model_json_schema()
    assert schema["required"] == ["name"] and schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(KeyAttributes.model_fields)


# -- The rules that need the org ------------------------------------------------------------------


def rules(role="owner", *, offered=None, taken=(), editing=None) -> KeyRules:
    capabilities = frozenset(capability.value for capability in ROLE_CAPABILITIES[Role(role)])
    return KeyRules(
        now=NOW,
        rights=key_rights(editing, user=None, capabilities=capabilities, now=NOW),
        offered_models=offered,
        name_taken=lambda name, expires_at: name.lower() in taken,
        editing=editing,
    )


def test_the_org_rules_answer_beside_the_fields_own_errors():
    with pytest.raises(KeyAttributesInvalid) as refused:
        KeyAttributes.checked(
            {
                "name": "Checkout",
                "scopes": ["admin"],
                "expires_at": NOW - timedelta(seconds=1),
                "allowed_models": ["gpt-5", "gpt-4o"],
                "allowed_ips": ["nowhere"],
            },
            rules=rules("member", offered=frozenset({"gpt-4o"}), taken={"checkout"}),
        )
    messages = refused.value.errors
    assert set(messages) == {"name", "scopes", "expires_at", "allowed_models", "allowed_ips"}
    assert messages["name"][0].startswith("name: another active key is already called Checkout")
    assert messages["scopes"][0].startswith("scopes: the admin scope acts with its creator's")
    assert messages["expires_at"] == [
        "expires_at: pick a time in the future, or leave it empty for no expiry."
    ]
    assert messages["allowed_models"] == [
        "allowed_models: gpt-5 is not offered by any enabled provider of this org (offered: "
        "gpt-4o); remove it or add it to a provider first."
    ]


def test_without_the_org_rules_only_the_schema_answers():
    attributes = KeyAttributes.checked(
        {"name": "checkout", "scopes": ["admin"], "expires_at": NOW - timedelta(days=1)}
    )
    assert attributes.scopes == ["admin"]


def test_models_are_only_warned_about_when_the_org_lists_none():
    given = rules(offered=None)
    KeyAttributes.checked({"name": "svc", "allowed_models": ["my-finetune"]}, rules=given)
    assert given.warnings == [
        "allowed_models: the org's providers list no models, so my-finetune could not be "
        "checked; make sure the names are right."
    ]


def test_an_edit_may_keep_a_past_expiry_but_not_set_one():
    past = NOW - timedelta(hours=1)
    key = VirtualKey(name="svc", scopes=["gateway"], created_by_id=None, expires_at=past)
    editing = rules(editing=key)
    assert KeyAttributes.checked({"name": "svc", "expires_at": past}, rules=editing)
    assert problems_with(editing, name="svc", expires_at=past - timedelta(seconds=1)) == {
        "expires_at"
    }


def problems_with(given: KeyRules, **attributes) -> set[str]:
    with pytest.raises(KeyAttributesInvalid) as refused:
        KeyAttributes.checked(attributes, rules=given)
    return set(refused.value.errors)
