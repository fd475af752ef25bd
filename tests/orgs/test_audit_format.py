"""How the audit log and config history show values and entries: each value type, each action a
service records (in the shape it records it), and entries of a shape nobody planned for."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from orgs.audit_format import (
    ACTION_LABELS,
    HIDDEN,
    config_lines,
    entry,
    exact_time,
    shown,
)
from orgs.config_diff import document_changes
from orgs.models import AuditEvent

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "name", "kind", "text"),
    [
        (True, "enabled", "on", "on"),
        (False, "enabled", "off", "off"),
        (None, "limit", "none", "none"),
        (250, "limit", "money", "$250.00 USD"),
        (Decimal("0.005"), "budget_limit", "money", "$0.005 USD"),
        ("1500.5", "budget_limit", "money", "$1,500.50 USD"),
        (45, "ttl_seconds", "duration", "45 s"),
        (3600, "ttl_seconds", "duration", "1 h"),
        (90, "timeout_seconds", "duration", "1 min 30 s"),
        (604800, "ttl_seconds", "duration", "7 days"),
        (250, "backoff_ms", "duration", "250 ms"),
        (1500, "backoff_ms", "duration", "1.5 s"),
        (600, "rate_limit_rpm", "rate", "600 requests/min"),
        (100000, "tpm", "rate", "100,000 tokens/min"),
        ("24h", "grace", "duration", "24 hours"),
        ("admin", "role", "role", "Admin"),
        (12000, "max_entries", "number", "12,000"),
        ("weighted", "strategy", "text", "weighted"),
        ([], "allowed_models", "list", "all the org's models"),
        ([], "ip_acl.deny", "list", "empty"),
        ("", "budget_period", "none", "none"),
    ],
)
def test_each_value_type_reads_as_a_person_would(value, name, kind, text):
    result = shown(value, name)
    assert (result.kind, result.text) == (kind, text)


def test_a_list_is_chips_and_fractions_are_percentages():
    models = shown(["gpt-4o", "claude-3-5-sonnet"], "allowed_models")
    assert models.kind == "list" and [item.text for item in models.items] == [
        "gpt-4o",
        "claude-3-5-sonnet",
    ]
    assert str(models) == "gpt-4o, claude-3-5-sonnet"
    thresholds = shown((0.5, 0.8, 1.0), "budgets.alert_thresholds")
    assert [item.text for item in thresholds.items] == ["50%", "80%", "100%"]


def test_a_long_text_is_cut_with_the_whole_value_in_its_title():
    long = "an-unusually-long-model-name-" * 4
    result = shown(long, "default_model")
    assert result.text.endswith("…") and len(result.text) <= 48 and result.title == long
    assert str(result) == long


def test_a_time_reads_in_the_viewers_zone():
    result = shown("2026-03-01T08:00:00+00:00", "old_secret_valid_until", zone=PARIS)
    assert (result.kind, result.text) == ("time", "2026-03-01 09:00:00 Europe/Paris")


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("sk-live-abcdefghijklmnop1234", "api_key"),
        ("hunter2hunter2", "password"),
        ("whatever", "client_secret"),
        ("tok-value", "webhook_token"),
        # A full key typed into a field that is not meant for one is still hidden.
        ("sk-prism-AbCdEfGhIjKlMnOpQrStUvWxYz012345", "name"),
    ],
)
def test_secrets_are_never_shown(value, name):
    result = shown(value, name)
    assert result.kind == "secret" and result.text == HIDDEN and value not in str(result)


def test_a_stored_provider_secret_shows_only_its_mask():
    before = {"providers": [{"name": "openai", "type": "openai", "api_key": None}]}
    after = {
        "providers": [
            {
                "name": "openai",
                "type": "openai",
                "api_key": {"secret_id": 7, "masked": "sk-…abcd"},
            }
        ]
    }
    [line] = config_lines(document_changes(before, after))
    assert str(line) == "providers.openai.api_key: none → sk-…abcd"
    assert line.after.kind == "secret"


def test_the_exact_time_names_its_zone():
    assert exact_time(NOW, PARIS) == "2026-03-01 13:00:00 Europe/Paris"
    assert exact_time(NOW, UTC) == "2026-03-01 12:00:00 UTC"


# -- Each action, in the shape its service records it -------------------------------------------


def event(action, details=None, **fields):
    return AuditEvent(
        pk=1,
        action=action,
        details=details or {},
        actor_email=fields.pop("actor_email", "ada@example.test"),
        created_at=NOW,
        **fields,
    )


def lines_of(action, details=None, **fields) -> list[str]:
    return [str(line) for line in entry(event(action, details, **fields), PARIS).lines]


ACTIONS = [
    ("organization.create", {}, []),
    ("organization.rename", {"from": "Acme", "to": "Acme AI"}, ["Name: Acme → Acme AI"]),
    (
        "organization.billing_update",
        {"from": None, "to": "billing@acme.test"},
        ["Billing contact: none → billing@acme.test"],
    ),
    ("member.role_change", {"from": "member", "to": "admin"}, ["Role: Member → Admin"]),
    ("member.remove", {"role": "viewer"}, ["Role: Viewer"]),
    ("member.leave", {"role": "admin"}, ["Role: Admin"]),
    (
        "invitation.create",
        {"role": "member", "refreshed": False},
        ["Role: Member", "Refreshed a pending invitation: off"],
    ),
    ("invitation.resend", {"role": "owner"}, ["Role: Owner"]),
    ("invitation.revoke", {"role": "member"}, ["Role: Member"]),
    (
        "invitation.accept",
        {"role": "member", "invited_by": "ada@example.test", "already_member": False},
        ["Role: Member", "Invited by: ada@example.test", "Was already a member: off"],
    ),
    (
        "key.create",
        {
            "key_id": "key_abc",
            "name": "billing-service",
            "scopes": ["gateway"],
            "expires_at": None,
            "rate_limit_rpm": 600,
            "rate_limit_tpm": None,
            "allowed_models": ["gpt-4o"],
            "allowed_ips": [],
            "budget_limit": "25.00",
            "budget_period": "monthly",
        },
        [
            "Key: key_abc",
            "Name: billing-service",
            "Scopes: gateway",
            "Rate limit (requests): 600 requests/min",
            "Allowed models: gpt-4o",
            "Budget: $25.00 USD",
            "Budget period: monthly",
        ],
    ),
    (
        "key.update",
        {
            "key_id": "key_abc",
            "name": {"from": "old", "to": "new"},
            "rate_limit_rpm": {"from": 100, "to": 500},
            "budget_limit": {"from": None, "to": "10"},
            "metadata": "changed",
        },
        [
            "Key: key_abc",
            "Name: old → new",
            "Rate limit (requests): 100 requests/min → 500 requests/min",
            "Budget: none → $10.00 USD",
            "Metadata: changed (not recorded)",
        ],
    ),
    (
        "key.rotate",
        {"key_id": "key_abc", "grace": "1h", "old_secret_valid_until": "2026-03-01T13:00:00+00:00"},
        [
            "Key: key_abc",
            "Old secret valid for: 1 hour",
            "Old secret valid until: 2026-03-01 14:00:00 Europe/Paris",
        ],
    ),
    ("key.revoke", {"key_id": "key_abc"}, ["Key: key_abc"]),
]


@pytest.mark.parametrize(("action", "details", "expected"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_each_action_reads_as_before_and_after(action, details, expected):
    shown_entry = entry(event(action, details), PARIS)
    assert shown_entry.action_label == ACTION_LABELS[action]
    assert [str(line) for line in shown_entry.lines] == expected


def test_every_recorded_action_has_a_label_and_a_test():
    assert {action for action, _, _ in ACTIONS} | {"config.update", "config.restore"} == set(
        ACTION_LABELS
    )


def test_a_config_entry_lists_each_changed_path_before_and_after():
    before = {"budgets": {"enabled": False, "limit": 100}, "caching": {"ttl_seconds": 60}}
    after = {"budgets": {"enabled": True, "limit": 500}, "caching": {"ttl_seconds": 3600}}
    changes = document_changes(before, after)
    shown_entry = entry(
        event("config.restore", {"section": "restore", "version": 5, "restored_from": 3}),
        UTC,
        config_changes=changes,
    )
    assert [str(line) for line in shown_entry.lines] == [
        "caching.ttl_seconds: 1 min → 1 h",
        "budgets.enabled: off → on",
        "budgets.limit: $100.00 USD → $500.00 USD",
        "Restored from version: 3",
    ]


def test_a_config_entry_without_its_versions_lists_the_changed_paths():
    details = {"section": "budgets", "version": 2, "base_version": 1, "changed": ["budgets.limit"]}
    assert lines_of("config.update", details) == [
        "Section: budgets",
        "Version: 2",
        "Edited from version: 1",
        "Changed: budgets.limit",
    ]


def test_an_entry_of_unknown_shape_still_reads():
    shown_entry = entry(
        event(
            "test.something_new",
            {"enabled": True, "nested": {"a": 1, "b": None}, "count": 3, "from_ip": "10.0.0.1"},
        ),
        UTC,
    )
    assert shown_entry.action_label == "test.something_new"
    assert [str(line) for line in shown_entry.lines] == [
        "Enabled: on",
        "Nested: {a: 1, b: none}",
        "Count: 3",
        "From ip: 10.0.0.1",
    ]
    assert lines_of("test.odd", ["not", "a", "dict"]) == ["Details: not, a, dict"]
    assert lines_of("test.quiet", {"nothing": None, "blank": "", "no_items": []}) == []


def test_the_key_is_named_once():
    """A key's entries name it in the target; its id is not repeated as a line."""
    named = event("key.revoke", {"key_id": "key_abc"}, target="billing (key_abc)")
    assert entry(named, UTC).lines == []


def test_the_actor_names_the_key_or_token_it_came_through():
    assert entry(event("key.revoke", api_key_id="key_auto"), UTC).via == "key key_auto"
    through_token = entry(event("key.revoke", {"key_id": "k", "token_id": "pat_x"}), UTC)
    assert through_token.via == "token pat_x"
    assert [str(line) for line in through_token.lines] == ["Key: k"]
    assert entry(event("organization.create", actor_email=""), UTC).actor == "system"


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("1e999999", "limit"),
        (float("inf"), "limit"),
        ("NaN", "budget_limit"),
        (float("nan"), "ttl_seconds"),
        (float("inf"), "backoff_ms"),
        (10**30, "ttl_seconds"),
        ({"odd": [1, {"deep": None}]}, "routing"),
    ],
)
def test_a_stored_value_out_of_every_range_still_reads(value, name):
    """Stored documents may hold values that no longer pass the schema: they read, never fail."""
    result = shown(value, name)
    assert result.text and len(result.text) <= 48
