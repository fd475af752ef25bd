"""Our data mapped into the open-source Prism gateway's contract, and its log rows into ours.

Every answer is checked twice: exact shapes for representative data (a renamed field fails),
and a round trip through our extra-forbidding models of that contract (an unknown field fails).
"""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from pydantic import ValidationError

from gateway.agentcc import (
    INGEST_FIELDS,
    AgentccOrgConfig,
    BudgetsConfig,
    CacheConfig,
    Envelope,
    IngestEnvelope,
    IPACLConfig,
    KeysEnvelope,
    LogBatch,
    LogEntry,
    OrgConfigsEnvelope,
    OrgSpend,
    ProviderConfig,
    RateLimitConfig,
    RoutingConfig,
    SpendEnvelope,
    SpendSummary,
    SyncedKey,
    budget_period_start,
    envelope,
    gateway_org_id,
    ingest_row,
    log_rows,
    org_config_entry,
    spend_summary_result,
    synced_keys,
)
from keys.models import RetiredSecret, VirtualKey
from keys.secrets import hash_secret
from keys.services import KeyAttributes, key_create, key_revoke, key_rotate
from orgs.config_schema import OrgConfig
from orgs.models import Organization
from orgs.selectors import organization_config, provider_api_keys
from orgs.services import config_save
from prism_site.actor import Actor
from tests.factories import make_organization, make_user

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 18, 12, 30, tzinfo=UTC)
OPENAI_SECRET = "sk-openai-test-0123456789abcdef"
ANTHROPIC_SECRET = "sk-ant-test-0123456789abcdef"
AZURE_SECRET = "azure-test-0123456789abcdef"

DOCUMENT = {
    "providers": [
        {
            "name": "openai-prod",
            "type": "openai",
            "api_key": OPENAI_SECRET,
            "models": ["gpt-4o", "gpt-4o-mini"],
            "weight": 3,
            "timeout_seconds": 30,
        },
        {
            "name": "anthropic",
            "type": "anthropic",
            "api_key": ANTHROPIC_SECRET,
            "models": ["claude-sonnet-4"],
        },
        {
            "name": "azure-eu",
            "type": "azure_openai",
            "base_url": "https://acme-eu.openai.azure.com/openai",
            "api_key": AZURE_SECRET,
            "models": ["gpt-4o"],
            "enabled": False,
        },
        {"name": "mistral", "type": "mistral", "models": ["mistral-large"]},
    ],
    "routing": {
        "strategy": "least_latency",
        "default_model": "gpt-4o-mini",
        "fallbacks": {"gpt-4o": ["claude-sonnet-4"]},
        "retry": {"max_retries": 3, "backoff_ms": 400},
    },
    "caching": {"enabled": True, "mode": "exact", "ttl_seconds": 900, "max_entries": 5000},
    "rate_limiting": {
        "enabled": True,
        "rpm": 1000,
        "tpm": 200000,
        "per_key_rpm": 120,
        "per_key_tpm": 40000,
    },
    "budgets": {
        "enabled": True,
        "limit": 500,
        "period": "weekly",
        "alert_thresholds": [0.8, 0.5, 1.0],
        "action": "block",
    },
    "ip_acl": {"enabled": True, "allow": ["203.0.113.0/24"], "deny": ["203.0.113.66/32"]},
}


def create_key(organization, creator, name, *, now=NOW, **attributes):
    return key_create(
        organization=organization,
        actor=Actor(creator),
        attributes=KeyAttributes(name=name, **attributes),
        now=now,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One configured org with a key in each state, built once for the module (ids only)."""
    with django_db_blocker.unblock(), transaction.atomic():
        owner = make_user("owner@example.test")
        organization = make_organization("Acme AI", owner=owner)
        actor = Actor(owner)
        config_save(organization=organization, actor=actor, base_version=None, document=DOCUMENT)
        active = create_key(
            organization,
            owner,
            "checkout",
            allowed_models=["gpt-4o-mini"],
            allowed_ips=["198.51.100.0/24"],
            rate_limit_rpm=60,
            budget_limit=Decimal("25.50"),
            budget_period="daily",
            metadata={"team": "payments", "org_id": "someone-else"},
            expires_at=NOW + timedelta(days=30),
        )
        revoked = create_key(organization, owner, "old-batch")
        key_revoke(key=revoked.key, actor=actor, now=NOW - timedelta(hours=1))
        expired = create_key(
            organization,
            owner,
            "trial",
            now=NOW - timedelta(days=2),
            expires_at=NOW - timedelta(days=1),
        )
        rotated = create_key(organization, owner, "search", now=NOW - timedelta(days=3))
        old_secret = rotated.secret
        rotated = key_rotate(
            key=rotated.key, actor=actor, grace="24h", now=NOW - timedelta(hours=2)
        )
        admin_only = create_key(organization, owner, "ops-bot", scopes=["admin"])
        yield {
            "organization": organization.pk,
            "active": active.key.pk,
            "revoked": revoked.key.pk,
            "expired": expired.key.pk,
            "rotated": rotated.key.pk,
            "rotated_old_hash": hash_secret(old_secret),
            "rotated_new_hash": hash_secret(rotated.secret),
            "admin_only": admin_only.key.pk,
        }
        transaction.set_rollback(True)


def key(world, name) -> VirtualKey:
    return VirtualKey.objects.select_related("organization").get(pk=world[name])


def retired(key) -> list[RetiredSecret]:
    return list(key.retired_secrets.all())


def round_trip(model, value):
    """`value` dumped as JSON and read back by the extra-forbidding model: equal, or it fails."""
    wire = json.loads(json.dumps(value.wire()))
    assert model.model_validate(wire) == value
    return wire


# -- The bulk org config --------------------------------------------------------------------------


def config_entry(world) -> tuple[Organization, AgentccOrgConfig]:
    organization = Organization.objects.get(pk=world["organization"])
    config = organization_config(organization)
    keys = VirtualKey.objects.active(NOW).filter(organization=organization)
    entry = org_config_entry(
        organization, config, provider_api_keys(organization, config), keys=keys
    )
    return organization, entry


def test_org_config_entry_has_the_contract_shape(world):
    organization, entry = config_entry(world)
    wire = round_trip(AgentccOrgConfig, entry)

    assert wire["providers"] == {
        "openai-prod": {
            "api_key": OPENAI_SECRET,
            "api_format": "openai",
            "models": ["gpt-4o", "gpt-4o-mini"],
            "timeout": 30,
            "weight": 3.0,
            "enabled": True,
        },
        "anthropic": {
            "api_key": ANTHROPIC_SECRET,
            "api_format": "anthropic",
            "models": ["claude-sonnet-4"],
            "timeout": 60,
            "weight": 1.0,
            "enabled": True,
        },
        "azure-eu": {
            "api_key": AZURE_SECRET,
            "base_url": "https://acme-eu.openai.azure.com/openai",
            "api_format": "azure",
            "models": ["gpt-4o"],
            "timeout": 60,
            "weight": 1.0,
            "enabled": False,
        },
        # No key saved: none sent; the OpenAI protocol at Mistral's public endpoint.
        "mistral": {
            "base_url": "https://api.mistral.ai/v1",
            "api_format": "openai",
            "models": ["mistral-large"],
            "timeout": 60,
            "weight": 1.0,
            "enabled": True,
        },
    }
    assert wire["routing"] == {
        "strategy": "least-latency",
        "fallback_enabled": True,
        "model_fallbacks": {"gpt-4o": ["claude-sonnet-4"]},
        "default_model": "gpt-4o-mini",
        "retry": {"enabled": True, "max_retries": 3, "initial_delay": "400ms"},
    }
    assert wire["cache"] == {
        "enabled": True,
        "backend": "memory",
        "default_ttl": 900,
        "max_entries": 5000,
    }
    assert wire["rate_limiting"] == {
        "enabled": True,
        "global_rpm": 1000,
        "global_tpm": 200000,
        "per_key_rpm": 120,
        "per_key_tpm": 40000,
    }
    assert wire["budgets"] == {
        "enabled": True,
        "default_period": "weekly",
        "warn_threshold": 0.5,
        "org_limit": 500.0,
        "org_period": "weekly",
        "hard_limit": True,
        # Their budget plugin finds a key's budget by the key's name.
        "keys": {"checkout": {"limit": 25.5, "period": "daily", "hard": True}},
    }
    assert wire["ip_acl"] == {
        "enabled": True,
        "allow": ["203.0.113.0/24"],
        "deny": ["203.0.113.66/32"],
    }
    assert set(wire) == {"providers", "routing", "cache", "rate_limiting", "budgets", "ip_acl"}

    bulk = envelope({gateway_org_id(organization): wire})
    parsed = OrgConfigsEnvelope.model_validate(json.loads(json.dumps(bulk)))
    assert parsed.status is True
    assert parsed.result == {str(organization.pk): entry}


def test_default_config_maps_to_a_quiet_entry(world):
    """A new org's defaults: nothing enabled, no providers, priority routing (their default)."""
    organization = Organization.objects.get(pk=world["organization"])
    entry = org_config_entry(organization, OrgConfig(), {})
    wire = round_trip(AgentccOrgConfig, entry)
    assert wire == {
        "providers": {},
        "routing": {
            "fallback_enabled": False,
            "retry": {"enabled": True, "max_retries": 2, "initial_delay": "250ms"},
        },
        "cache": {
            "enabled": False,
            "backend": "memory",
            "default_ttl": 3600,
            "max_entries": 10000,
        },
        "rate_limiting": {"enabled": False},
        "budgets": {
            "enabled": False,
            "default_period": "monthly",
            "warn_threshold": 0.5,
            "hard_limit": True,
        },
        "ip_acl": {"enabled": False, "allow": [], "deny": []},
    }


@pytest.mark.parametrize(
    ("path", "wrong"),
    [
        (("rate_limiting",), {"rpm": 10}),
        (("budgets",), {"limit": 10}),
        (("budgets",), {"period": "monthly"}),
        (("ip_acl",), {"allowed": ["10.0.0.0/8"]}),
        (("cache",), {"ttl_seconds": 60}),
        (("routing",), {"fallbacks": {}}),
        (("providers", "openai"), {"type": "openai"}),
        ((), {"caching": {}}),
    ],
)
def test_the_models_refuse_fields_the_contract_does_not_have(path, wrong):
    document: dict = {}
    node = document
    for part in path:
        node = node.setdefault(part, {})
    node.update(wrong)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        AgentccOrgConfig.model_validate(document)


def test_the_models_hold_the_contract_field_names():
    """The property names of the schema's definitions (agentcc-admin.schema.json), spelled out so
    a rename on either side shows here."""
    assert set(AgentccOrgConfig.model_fields) == {
        "providers",
        "guardrails",
        "routing",
        "cache",
        "rate_limiting",
        "budgets",
        "cost_tracking",
        "ip_acl",
        "alerting",
        "privacy",
        "tool_policy",
        "mcp",
        "audit",
        "a2a",
        "model_database",
        "model_map",
    }
    assert set(ProviderConfig.model_fields) == {
        "api_key",
        "base_url",
        "api_format",
        "models",
        "timeout",
        "weight",
        "enabled",
        "max_concurrent",
        "conn_pool_size",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_region",
        "aws_session_token",
    }
    assert set(RateLimitConfig.model_fields) == {
        "enabled",
        "global_rpm",
        "global_tpm",
        "per_key_rpm",
        "per_key_tpm",
        "per_model_rpm",
        "per_user_rpm",
    }
    assert set(BudgetsConfig.model_fields) == {
        "enabled",
        "default_period",
        "warn_threshold",
        "org_limit",
        "org_period",
        "hard_limit",
        "action",
        "action_mode",
        "on_exceed",
        "organization",
        "org",
        "teams",
        "users",
        "keys",
        "tags",
    }
    assert set(IPACLConfig.model_fields) == {"enabled", "allow", "deny"}
    assert set(CacheConfig.model_fields) == {
        "enabled",
        "backend",
        "default_ttl",
        "max_entries",
        "disk",
        "redis",
        "s3",
        "azure_blob",
        "gcs",
        "semantic",
        "edge",
    }
    assert "model_fallbacks" in RoutingConfig.model_fields
    assert set(SyncedKey.model_fields) == {
        "id",
        "name",
        "owner",
        "key_hash",
        "models",
        "providers",
        "metadata",
        "expires_at",
    }


def test_the_contract_types_are_strict():
    with pytest.raises(ValidationError):
        AgentccOrgConfig.model_validate({"rate_limiting": {"global_rpm": "1000"}})
    with pytest.raises(ValidationError):
        AgentccOrgConfig.model_validate({"cache": {"enabled": "yes"}})
    with pytest.raises(ValidationError):
        AgentccOrgConfig.model_validate({"providers": {"a": {"timeout": 1.5}}})


# -- The bulk key sync ----------------------------------------------------------------------------


def test_active_key_syncs_with_its_org_and_restrictions(world):
    active = key(world, "active")
    items = synced_keys(active, now=NOW, retired_secrets=retired(active))
    assert [round_trip(SyncedKey, item) for item in items] == [
        {
            "id": active.public_id,
            "name": "checkout",
            "owner": "",
            "key_hash": active.secret_hash,
            "models": ["gpt-4o-mini"],
            "providers": [],
            # The org id is ours, whatever a person put in the metadata: it picks the tenant.
            "metadata": {"team": "payments", "org_id": str(world["organization"])},
            "expires_at": "2026-04-17T12:30:00Z",
        }
    ]
    # A key that never expires sends an explicit null, as their Django side does.
    rotated = key(world, "rotated")
    wire = items[0].model_dump(mode="json") | {"expires_at": None}
    assert SyncedKey.model_validate(wire).expires_at is None
    assert synced_keys(rotated, now=NOW)[0].model_dump(mode="json")["expires_at"] is None


@pytest.mark.parametrize("name", ["revoked", "expired", "admin_only"])
def test_keys_that_cannot_send_traffic_are_not_synced(world, name):
    """Their sync list has no status and replaces every synced key: a key left out stops."""
    unusable = key(world, name)
    assert synced_keys(unusable, now=NOW, retired_secrets=retired(unusable)) == []


def test_rotated_key_syncs_both_secrets_during_the_grace_period(world):
    rotated = key(world, "rotated")
    items = synced_keys(rotated, now=NOW, retired_secrets=retired(rotated))
    wires = [round_trip(SyncedKey, item) for item in items]
    assert [(w["id"], w["key_hash"], w["expires_at"]) for w in wires] == [
        (rotated.public_id, world["rotated_new_hash"], None),
        (rotated.public_id, world["rotated_old_hash"], "2026-03-19T10:30:00Z"),
    ]
    # Once the grace period is over only the new secret is listed.
    later = NOW + timedelta(days=1)
    assert [
        item.key_hash for item in synced_keys(rotated, now=later, retired_secrets=retired(rotated))
    ] == [world["rotated_new_hash"]]


def test_key_sync_envelope_parses_as_the_gateway_reads_it(world):
    organization = Organization.objects.get(pk=world["organization"])
    items = [
        item.model_dump(mode="json")
        for k in VirtualKey.objects.filter(organization=organization).order_by("id")
        for item in synced_keys(k, now=NOW, retired_secrets=retired(k))
    ]
    parsed = KeysEnvelope.model_validate(json.loads(json.dumps(envelope(items))))
    assert parsed.status is True
    assert [item.name for item in parsed.result] == ["checkout", "search", "search"]
    with pytest.raises(ValidationError, match="Extra inputs"):
        KeysEnvelope.model_validate(envelope([items[0] | {"status": "active"}]))
    with pytest.raises(ValidationError, match="Field required"):
        KeysEnvelope.model_validate(envelope([{k: v for k, v in items[0].items() if k != "owner"}]))


# -- The spend summary ----------------------------------------------------------------------------


def test_spend_summary_has_the_contract_shape():
    start = budget_period_start("monthly", NOW)
    summary = spend_summary_result(
        period="monthly",
        period_start=start,
        orgs=[
            OrgSpend(
                organization_id="7",
                total=Decimal("82.50"),
                per_key={"vk_abc": Decimal("40.00"), "vk_unnamed": Decimal("2.50")},
                per_user={"alice": Decimal("30.00")},
                per_model={"gpt-4o": Decimal("50.00"), "unused": Decimal("0")},
            ),
            OrgSpend(organization_id="8", total=Decimal("0")),
        ],
        key_names={"vk_abc": "checkout"},
    )
    wire = round_trip(SpendSummary, summary)
    assert wire == {
        "period": "monthly",
        "period_start": "2026-03-01T00:00:00Z",
        "orgs": {
            "7": {
                "total_spend": 82.5,
                "per_key": {"checkout": 40.0, "vk_unnamed": 2.5},
                "per_user": {"alice": 30.0},
                "per_model": {"gpt-4o": 50.0},
            }
        },
    }
    parsed = SpendEnvelope.model_validate(envelope(wire))
    assert parsed.result == summary
    with pytest.raises(ValidationError):
        spend_summary_result(period="yearly", period_start=start, orgs=[])


@pytest.mark.parametrize(
    ("period", "start"),
    [
        ("daily", datetime(2026, 3, 18, tzinfo=UTC)),
        ("weekly", datetime(2026, 3, 16, tzinfo=UTC)),  # the Monday
        ("monthly", datetime(2026, 3, 1, tzinfo=UTC)),
        ("total", datetime.min.replace(tzinfo=UTC)),
    ],
)
def test_budget_period_start_is_calendar_aligned_in_utc(period, start):
    assert budget_period_start(period, NOW) == start
    # The total period's start survives the wire (their Django side sends year 1 too).
    SpendSummary.model_validate({"period": period, "period_start": start.isoformat(), "orgs": {}})


def test_budget_period_start_names_the_allowed_periods():
    with pytest.raises(ValueError, match="period: must be one of daily, weekly, monthly, total"):
        budget_period_start("yearly", NOW)


# -- The log webhook ------------------------------------------------------------------------------


def flusher_row(**fields) -> dict:
    """A row as their flusher marshals `logEntry`: fields without omitempty always present."""
    row = {
        "request_id": "req-0001",
        "timestamp": "2026-03-18T12:29:59.123456789Z",
        "model": "gpt-4o",
        "provider": "openai-prod",
        "prompt_tokens": 1200,
        "completion_tokens": 340,
        "total_tokens": 1540,
        "status_code": 200,
        "latency_ms": 812,
        "is_stream": False,
        "is_error": False,
        "cache_hit": False,
        "fallback_used": False,
        "guardrail_triggered": False,
        "cost": 0.01234,
    }
    row.update(fields)
    return row


def test_a_full_row_maps_to_our_ingest_row_without_bodies():
    body = json.dumps(
        {
            "logs": [
                flusher_row(
                    resolved_model="claude-sonnet-4",
                    provider="anthropic",
                    fallback_used=True,
                    auth_key_id="vk_abc123",
                    user_id="alice",
                    session_id="sess-9",
                    metadata={
                        "cost": "0.01234",
                        "team": "payments",
                        "key_org_id": "7",
                    },
                    guardrail_results=[{"name": "pii", "triggered": False}],
                    request_body={"messages": [{"role": "user", "content": "my card is 4111"}]},
                    response_body={"choices": [{"message": {"content": "secret answer"}}]},
                    request_headers={"authorization": "Bearer sk-prism-live"},
                    a_field_added_later={"x": 1},
                )
            ]
        }
    )
    batch = LogBatch.model_validate_json(body)
    row = ingest_row(batch.logs[0])
    assert row == {
        "request_id": "req-0001",
        "key_id": "vk_abc123",
        "model": "claude-sonnet-4",
        "provider": "anthropic",
        "status_code": 200,
        "latency_ms": 812,
        "ttft_ms": None,
        "input_tokens": 1200,
        "output_tokens": 340,
        "cached_tokens": 0,
        "cost": Decimal("0.01234"),
        "cache_hit": False,
        "fallback_used": True,
        "started_at": datetime(2026, 3, 18, 12, 29, 59, 123456, tzinfo=UTC),
        "user": "alice",
        "session_id": "sess-9",
        "error": "",
        "metadata": {"key_org_id": "7", "team": "payments"},
    }
    assert tuple(row) == INGEST_FIELDS
    # Neither the parsed row nor our row holds a body, a prompt or a header anywhere.
    for shown in (repr(batch), json.dumps(batch.model_dump(mode="json")), repr(row)):
        for private in ("4111", "secret answer", "sk-prism-live", "messages", "a_field_added"):
            assert private not in shown


def test_a_minimal_error_row_maps_with_empty_optionals():
    entry = LogEntry.model_validate(
        flusher_row(status_code=429, is_error=True, error_message="rate limited", cost=0)
    )
    row = ingest_row(entry)
    assert row["key_id"] is None
    assert row["user"] == ""
    assert row["session_id"] == ""
    assert row["model"] == "gpt-4o"
    assert row["error"] == "rate limited"
    assert row["cost"] == Decimal("0")
    assert row["metadata"] == {}


def test_metadata_is_bounded():
    metadata = {f"k{n:03d}": "v" * 1000 for n in range(100)} | {"x" * 200: "long key"}
    row = ingest_row(LogEntry.model_validate(flusher_row(metadata=metadata)))
    assert len(row["metadata"]) == 32
    assert all(len(k) <= 64 and len(v) <= 256 for k, v in row["metadata"].items())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prompt_tokens", "12"),
        ("prompt_tokens", -1),
        ("status_code", None),
        ("timestamp", "yesterday"),
        ("timestamp", "2026-03-18T12:29:59"),  # no zone: Go always sends one
        ("cost", "0.1"),
        ("metadata", {"n": 1}),
    ],
)
def test_malformed_rows_are_refused_naming_the_field(field, value):
    with pytest.raises(ValidationError) as error:
        LogEntry.model_validate(flusher_row(**{field: value}))
    assert error.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize("missing", ["request_id", "timestamp", "model", "provider", "cost"])
def test_rows_missing_a_field_the_flusher_always_sends_are_refused(missing):
    row = flusher_row()
    del row[missing]
    with pytest.raises(ValidationError, match="Field required"):
        LogEntry.model_validate(row)


def test_the_batch_and_its_answer_have_the_contract_shape():
    with pytest.raises(ValidationError, match="Extra inputs"):
        LogBatch.model_validate({"logs": [], "rows": []})
    assert LogBatch.model_validate({"logs": [flusher_row()], "gateway_id": "gw-1"}).logs
    answer = envelope({"ingested": 3})
    assert IngestEnvelope.model_validate(answer).result.ingested == 3
    with pytest.raises(ValidationError):
        Envelope[dict].model_validate({"status": True})


def test_bad_rows_are_reported_and_good_rows_kept():
    payload = {
        "logs": [
            flusher_row(request_id="good-1"),
            flusher_row(request_id="bad", prompt_tokens="many"),
            "not a row",
            flusher_row(request_id="good-2", request_body={"messages": ["hi"]}),
        ]
    }
    entries, problems = log_rows(json.loads(json.dumps(payload)))
    assert [entry.request_id for entry in entries] == ["good-1", "good-2"]
    assert [(problem.index, problem.errors) for problem in problems] == [
        (1, ("prompt_tokens: Input should be a valid integer",)),
        (2, ("row: Input should be a valid dictionary or instance of LogEntry",)),
    ]
    for private in ("4111", "hi"):
        assert private not in repr(problems)


@pytest.mark.parametrize("payload", [[], {"rows": []}, {"logs": {}}, {"logs": [], "extra": 1}])
def test_a_body_that_is_not_a_batch_is_refused(payload):
    with pytest.raises(ValidationError):
        log_rows(payload)
