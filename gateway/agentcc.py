"""The open-source Prism (AgentCC) gateway's control-plane contract, and maps between it and us.

That gateway pulls three endpoints and pushes one, every answer wrapped as
`{"status": true, "result": ...}`:

- `GET /agentcc/org-configs/bulk/` → `result`: a map gateway org id → `AgentccOrgConfig`.
- `GET /agentcc/api-keys/bulk/` → `result`: a list of `SyncedKey`. It *replaces* every synced key
  with this list (one entry per secret hash), so a key not listed stops working; the list carries
  no status, so revoked and expired keys are left out.
- `GET /agentcc/spend-summary/?period=daily|weekly|monthly|total` → `result`: a `SpendSummary`.
- `POST /agentcc/webhook/logs/` with `{"logs": [LogEntry, ...]}` and `X-Webhook-Secret` →
  `result`: `{"ingested": n}`. The gateway retries a batch on 5xx and drops it on any 4xx.

The three pulls send `Authorization: Bearer <admin token>`. The gateway decides a request's org
from its key's `metadata["org_id"]` (as `key_org_id`), so every synced key carries our org id.

Read from `future-agi/future-agi` (re-check these when that gateway changes):
- `api_contracts/gateway/agentcc-admin.schema.json`: `$defs.OrgConfig` and everything it refers
  to (all fields optional, `additionalProperties: false` everywhere → `extra="forbid"` here).
- `agentcc-gateway/internal/tenant/config.go` (the Go `OrgConfig`; units: provider `timeout` and
  cache `default_ttl` in seconds, durations as strings like "250ms"),
  `agentcc-gateway/internal/tenant/sync.go` (bulk config parse: `map[string]json.RawMessage`),
  `agentcc-gateway/internal/routing/strategy.go` (strategy names: round-robin, weighted,
  least-latency, cost-optimized, adaptive, fastest),
  `agentcc-gateway/internal/providers/` (api_format names: openai, anthropic, gemini, bedrock,
  cohere, azure).
- `agentcc-gateway/internal/auth/keystore.go` (`SyncedKey`, `SyncFromHashes`: the list replaces
  all synced keys, one per `key_hash`, `id` reused as the key's id in logs) and
  `agentcc-gateway/internal/auth/sync.go` (envelope with `result: []SyncedKey`).
- `agentcc-gateway/internal/tenant/spend_sync.go` (`SpendSummary`, `OrgSpendSummary`),
  `agentcc-gateway/cmd/agentcc/main.go` (period = `budgets.default_period` or monthly),
  `agentcc-gateway/internal/plugins/budget/seed.go` and `budget.go` (`extractIdentity`:
  per-key budgets and `per_key` spend are looked up by the key's *name*).
- `agentcc-gateway/internal/plugins/logging/flusher.go` (`logFlushPayload`, `logEntry`, 4xx drops).
- `futureagi/agentcc/views/api_key_bulk.py`, `org_config_bulk.py`, `spend_summary.py`,
  `webhook.py` and `serializers/contracts.py` (their Django side of the same endpoints).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from orgs.config_schema import (
    BudgetAction,
    CacheMode,
    OrgConfig,
    ProviderType,
    RoutingStrategy,
)

# -- The contract: the schema's `$defs`, every field optional as there ---------------------------


class _Contract(BaseModel):
    """Unknown fields are refused, as `additionalProperties: false` does in their schema."""

    model_config = ConfigDict(extra="forbid")

    def wire(self) -> dict:
        """The JSON-ready value the gateway receives."""
        return self.model_dump(mode="json", by_alias=True)


Strings = list[StrictStr]
StringMap = dict[str, StrictStr]


class ProviderConfig(_Contract):
    api_key: StrictStr | None = None
    base_url: StrictStr | None = None
    api_format: StrictStr | None = None
    models: Strings | None = None
    timeout: StrictInt | None = None  # seconds
    weight: StrictFloat | None = None
    enabled: StrictBool | None = None
    max_concurrent: StrictInt | None = None
    conn_pool_size: StrictInt | None = None
    aws_access_key_id: StrictStr | None = None
    aws_secret_access_key: StrictStr | None = None
    aws_region: StrictStr | None = None
    aws_session_token: StrictStr | None = None


class GuardrailCheck(_Contract):
    enabled: StrictBool | None = None
    action: StrictStr | None = None
    confidence_threshold: StrictFloat | None = None
    config: dict[str, Any] | None = None


class GuardrailConfig(_Contract):
    pipeline_mode: StrictStr | None = None
    fail_open: StrictBool | None = None
    timeout_ms: StrictInt | None = None
    checks: dict[str, GuardrailCheck] | None = None


class ConditionalRoute(_Contract):
    field: StrictStr | None = None
    operator: StrictStr | None = None
    value: Any = None
    target: StrictStr | None = None


class ComplexityTier(_Contract):
    max_score: StrictInt | None = None
    model: StrictStr | None = None
    provider: StrictStr | None = None


class ComplexityRoutingConfig(_Contract):
    enabled: StrictBool | None = None
    default_tier: StrictStr | None = None
    tiers: dict[str, ComplexityTier] | None = None
    weights: dict[str, StrictFloat] | None = None


class FastestResponseConfig(_Contract):
    enabled: StrictBool | None = None
    max_concurrent: StrictInt | None = None
    cancel_delay: StrictStr | None = None
    excluded_providers: Strings | None = None


class ScheduledConfig(_Contract):
    enabled: StrictBool | None = None
    max_pending_jobs: StrictInt | None = None
    result_ttl: StrictStr | None = None
    max_schedule_ahead: StrictStr | None = None
    retry_attempts: StrictInt | None = None
    worker_count: StrictInt | None = None


class SignalWeights(_Contract):
    latency: StrictFloat | None = None
    error_rate: StrictFloat | None = None
    cost: StrictFloat | None = None


class AdaptiveRoutingConfig(_Contract):
    enabled: StrictBool | None = None
    learning_requests: StrictInt | None = None
    update_interval: StrictStr | None = None
    smoothing_factor: StrictFloat | None = None
    min_weight: StrictFloat | None = None
    signal_weights: SignalWeights | None = None


class ProviderLockConfig(_Contract):
    enabled: StrictBool | None = None
    allowed_providers: Strings | None = None
    deny_providers: Strings | None = None


class AccessGroup(_Contract):
    models: Strings | None = None
    description: StrictStr | None = None
    aliases: StringMap | None = None


class FailoverConfig(_Contract):
    enabled: StrictBool | None = None
    max_attempts: StrictInt | None = None
    on_status_codes: list[StrictInt] | None = None
    on_timeout: StrictBool | None = None
    per_attempt_timeout: StrictStr | None = None


class CircuitBreakerConfig(_Contract):
    enabled: StrictBool | None = None
    failure_threshold: StrictInt | None = None
    success_threshold: StrictInt | None = None
    cooldown: StrictStr | None = None
    on_status_codes: list[StrictInt] | None = None


class RetryConfig(_Contract):
    enabled: StrictBool | None = None
    max_retries: StrictInt | None = None
    initial_delay: StrictStr | None = None  # a Go duration, e.g. "250ms"
    max_delay: StrictStr | None = None
    multiplier: StrictFloat | None = None
    on_status_codes: list[StrictInt] | None = None
    on_timeout: StrictBool | None = None


class MirrorRule(_Contract):
    source_model: StrictStr | None = None
    target_provider: StrictStr | None = None
    target_model: StrictStr | None = None
    sample_rate: StrictFloat | None = None


class MirrorConfig(_Contract):
    enabled: StrictBool | None = None
    rules: list[MirrorRule] | None = None


class RoutingConfig(_Contract):
    strategy: StrictStr | None = None
    fallback_enabled: StrictBool | None = None
    fallback_on_status_codes: list[StrictInt] | None = None
    model_fallbacks: dict[str, Strings] | None = None
    conditional_routes: list[ConditionalRoute] | None = None
    default_model: StrictStr | None = None
    complexity: ComplexityRoutingConfig | None = None
    fastest: FastestResponseConfig | None = None
    scheduled: ScheduledConfig | None = None
    adaptive: AdaptiveRoutingConfig | None = None
    provider_lock: ProviderLockConfig | None = None
    access_groups: dict[str, AccessGroup] | None = None
    failover: FailoverConfig | None = None
    circuit_breaker: CircuitBreakerConfig | None = None
    retry: RetryConfig | None = None
    mirror: MirrorConfig | None = None
    model_timeouts: StringMap | None = None


class DiskCacheConfig(_Contract):
    directory: StrictStr | None = None
    max_size_bytes: StrictInt | None = None
    compress: StrictBool | None = None
    cleanup_interval: StrictStr | None = None


class RedisCacheConfig(_Contract):
    address: StrictStr | None = None
    addresses: Strings | None = None
    password: StrictStr | None = None
    db: StrictInt | None = None
    mode: StrictStr | None = None
    pool_size: StrictInt | None = None
    tls: StrictBool | None = None
    key_prefix: StrictStr | None = None
    compress: StrictBool | None = None


class S3CacheConfig(_Contract):
    bucket: StrictStr | None = None
    prefix: StrictStr | None = None
    region: StrictStr | None = None
    access_key_id: StrictStr | None = None
    secret_access_key: StrictStr | None = None
    compress: StrictBool | None = None


class AzureBlobCacheConfig(_Contract):
    container: StrictStr | None = None
    prefix: StrictStr | None = None
    connection_string: StrictStr | None = None
    sas_token: StrictStr | None = None
    compress: StrictBool | None = None


class GCSCacheConfig(_Contract):
    bucket: StrictStr | None = None
    prefix: StrictStr | None = None
    project: StrictStr | None = None
    credentials_file: StrictStr | None = None
    compress: StrictBool | None = None


class QdrantConfig(_Contract):
    url: StrictStr | None = None
    collection: StrictStr | None = None
    api_key: StrictStr | None = None


class WeaviateConfig(_Contract):
    # The schema's field is `class`, a Python keyword.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    url: StrictStr | None = None
    class_: StrictStr | None = Field(default=None, alias="class")
    api_key: StrictStr | None = None


class PineconeConfig(_Contract):
    url: StrictStr | None = None
    api_key: StrictStr | None = None


class SemanticCacheConfig(_Contract):
    enabled: StrictBool | None = None
    backend: StrictStr | None = None
    threshold: StrictFloat | None = None
    dimensions: StrictInt | None = None
    max_entries: StrictInt | None = None
    qdrant: QdrantConfig | None = None
    weaviate: WeaviateConfig | None = None
    pinecone: PineconeConfig | None = None


class EdgeCacheConfig(_Contract):
    enabled: StrictBool | None = None
    default_ttl: StrictInt | None = None
    max_size: StrictInt | None = None
    cacheable_models: Strings | None = None
    require_opt_in: StrictBool | None = None


class CacheConfig(_Contract):
    enabled: StrictBool | None = None
    backend: StrictStr | None = None
    default_ttl: StrictInt | None = None  # seconds
    max_entries: StrictInt | None = None
    disk: DiskCacheConfig | None = None
    redis: RedisCacheConfig | None = None
    s3: S3CacheConfig | None = None
    azure_blob: AzureBlobCacheConfig | None = None
    gcs: GCSCacheConfig | None = None
    semantic: SemanticCacheConfig | None = None
    edge: EdgeCacheConfig | None = None


class RateLimitConfig(_Contract):
    enabled: StrictBool | None = None
    global_rpm: StrictInt | None = None
    global_tpm: StrictInt | None = None
    per_key_rpm: StrictInt | None = None
    per_key_tpm: StrictInt | None = None
    per_model_rpm: StrictInt | None = None
    per_user_rpm: StrictInt | None = None


class BudgetLevelConfig(_Contract):
    limit: StrictFloat | None = None
    period: StrictStr | None = None
    hard: StrictBool | None = None
    action: StrictStr | None = None
    action_mode: StrictStr | None = None
    on_exceed: StrictStr | None = None
    per_model: dict[str, StrictFloat] | None = None


class BudgetsConfig(_Contract):
    enabled: StrictBool | None = None
    default_period: StrictStr | None = None
    warn_threshold: StrictFloat | None = None
    org_limit: StrictFloat | None = None
    org_period: StrictStr | None = None
    hard_limit: StrictBool | None = None
    action: StrictStr | None = None
    action_mode: StrictStr | None = None
    on_exceed: StrictStr | None = None
    organization: BudgetLevelConfig | None = None
    org: BudgetLevelConfig | None = None
    teams: dict[str, BudgetLevelConfig] | None = None
    users: dict[str, BudgetLevelConfig] | None = None
    keys: dict[str, BudgetLevelConfig] | None = None
    tags: dict[str, BudgetLevelConfig] | None = None


class CustomPricing(_Contract):
    input_per_mtok: StrictFloat | None = None
    output_per_mtok: StrictFloat | None = None


class CostTrackingConfig(_Contract):
    enabled: StrictBool | None = None
    custom_pricing: dict[str, CustomPricing] | None = None


class IPACLConfig(_Contract):
    enabled: StrictBool | None = None
    allow: Strings | None = None
    deny: Strings | None = None


class AlertRuleConfig(_Contract):
    name: StrictStr | None = None
    metric: StrictStr | None = None
    condition: StrictStr | None = None
    threshold: StrictFloat | None = None
    window: StrictStr | None = None
    cooldown: StrictStr | None = None
    channels: Strings | None = None


class AlertChannelConfig(_Contract):
    name: StrictStr | None = None
    type: StrictStr | None = None
    url: StrictStr | None = None
    headers: StringMap | None = None


class AlertingConfig(_Contract):
    enabled: StrictBool | None = None
    rules: list[AlertRuleConfig] | None = None
    channels: list[AlertChannelConfig] | None = None


class RedactPatternConfig(_Contract):
    name: StrictStr | None = None
    pattern: StrictStr | None = None


class PrivacyConfig(_Contract):
    enabled: StrictBool | None = None
    mode: StrictStr | None = None
    redact_patterns: list[RedactPatternConfig] | None = None


class ToolPolicyConfig(_Contract):
    enabled: StrictBool | None = None
    max_tools_per_request: StrictInt | None = None
    default_action: StrictStr | None = None
    allow: Strings | None = None
    deny: Strings | None = None


class MCPAuthOrgConfig(_Contract):
    type: StrictStr | None = None
    token: StrictStr | None = None
    header: StrictStr | None = None
    key: StrictStr | None = None


class MCPServerOrgConfig(_Contract):
    url: StrictStr | None = None
    transport: StrictStr | None = None
    auth: MCPAuthOrgConfig | None = None
    tools_cache_ttl: StrictStr | None = None


class MCPGuardrailOrgConfig(_Contract):
    enabled: StrictBool | None = None
    blocked_tools: Strings | None = None
    allowed_servers: Strings | None = None
    validate_inputs: StrictBool | None = None
    validate_outputs: StrictBool | None = None
    tool_rate_limits: dict[str, StrictInt] | None = None


class MCPOrgConfig(_Contract):
    enabled: StrictBool | None = None
    servers: dict[str, MCPServerOrgConfig] | None = None
    guardrails: MCPGuardrailOrgConfig | None = None


class AuditSinkConfig(_Contract):
    type: StrictStr | None = None
    path: StrictStr | None = None
    url: StrictStr | None = None
    headers: StringMap | None = None


class AuditOrgConfig(_Contract):
    enabled: StrictBool | None = None
    min_severity: StrictStr | None = None
    categories: Strings | None = None
    sinks: list[AuditSinkConfig] | None = None


class A2ACardConfig(_Contract):
    name: StrictStr | None = None
    description: StrictStr | None = None
    version: StrictStr | None = None


class A2AAuthConfig(_Contract):
    type: StrictStr | None = None
    token: StrictStr | None = None
    header: StrictStr | None = None


class A2ASkillConfig(_Contract):
    id: StrictStr | None = None
    name: StrictStr | None = None
    description: StrictStr | None = None


class A2AAgentConfig(_Contract):
    url: StrictStr | None = None
    auth: A2AAuthConfig | None = None
    description: StrictStr | None = None
    skills: list[A2ASkillConfig] | None = None


class A2AOrgConfig(_Contract):
    enabled: StrictBool | None = None
    card: A2ACardConfig | None = None
    agents: dict[str, A2AAgentConfig] | None = None


class PricingOverrideOrg(_Contract):
    input_per_token: StrictFloat | None = None
    output_per_token: StrictFloat | None = None
    cached_input_per_token: StrictFloat | None = None
    batch_input_per_token: StrictFloat | None = None
    batch_output_per_token: StrictFloat | None = None


class CapabilityOverrideOrg(_Contract):
    function_calling: StrictBool | None = None
    parallel_tool_calls: StrictBool | None = None
    vision: StrictBool | None = None
    audio_input: StrictBool | None = None
    audio_output: StrictBool | None = None
    pdf_input: StrictBool | None = None
    streaming: StrictBool | None = None
    response_schema: StrictBool | None = None
    system_messages: StrictBool | None = None
    prompt_caching: StrictBool | None = None
    reasoning: StrictBool | None = None


class ModelOverrideOrgConfig(_Contract):
    max_input_tokens: StrictInt | None = None
    max_output_tokens: StrictInt | None = None
    pricing: PricingOverrideOrg | None = None
    capabilities: CapabilityOverrideOrg | None = None


class ModelDatabaseOrgConfig(_Contract):
    overrides: dict[str, ModelOverrideOrgConfig] | None = None


class AgentccOrgConfig(_Contract):
    """One org's entry in `GET /agentcc/org-configs/bulk/` (`$defs.OrgConfig`)."""

    providers: dict[str, ProviderConfig] | None = None
    guardrails: GuardrailConfig | None = None
    routing: RoutingConfig | None = None
    cache: CacheConfig | None = None
    rate_limiting: RateLimitConfig | None = None
    budgets: BudgetsConfig | None = None
    cost_tracking: CostTrackingConfig | None = None
    ip_acl: IPACLConfig | None = None
    alerting: AlertingConfig | None = None
    privacy: PrivacyConfig | None = None
    tool_policy: ToolPolicyConfig | None = None
    mcp: MCPOrgConfig | None = None
    audit: AuditOrgConfig | None = None
    a2a: A2AOrgConfig | None = None
    model_database: ModelDatabaseOrgConfig | None = None
    model_map: StringMap | None = None

    def wire(self) -> dict:
        """The JSON the gateway receives: unset sections and fields left out, as Go's omitempty."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class SyncedKey(_Contract):
    """One item of `GET /agentcc/api-keys/bulk/` (Go `auth.SyncedKey`: every field is sent)."""

    id: StrictStr
    name: StrictStr
    owner: StrictStr
    key_hash: StrictStr  # SHA-256 hex of the raw secret, as ours
    models: Strings
    providers: Strings
    metadata: StringMap
    expires_at: AwareDatetime | None


SpendPeriod = Literal["daily", "weekly", "monthly", "total"]


class OrgSpendSummary(_Contract):
    total_spend: StrictFloat
    per_key: dict[str, StrictFloat]
    per_user: dict[str, StrictFloat]
    per_model: dict[str, StrictFloat]


class SpendSummary(_Contract):
    """`result` of `GET /agentcc/spend-summary/?period=` (Go `tenant.SpendSummary`)."""

    period: SpendPeriod
    period_start: AwareDatetime
    orgs: dict[str, OrgSpendSummary]


class LogEntry(BaseModel):
    """One row of `POST /agentcc/webhook/logs/` (Go `logging.logEntry`, by its JSON tags).

    Fields the Go struct always sends are required; `omitempty` ones are optional. Unknown fields
    are ignored, not refused: the gateway may add fields, and a batch it sees refused (4xx) is
    dropped for good. Bodies and headers are recognised so that no one adds them by accident, but
    never dumped (`exclude`) nor shown (`repr`), and `ingest_row` never reads them.
    """

    model_config = ConfigDict(extra="ignore")

    request_id: StrictStr
    timestamp: AwareDatetime
    model: StrictStr
    resolved_model: StrictStr | None = None
    provider: StrictStr
    prompt_tokens: StrictInt = Field(ge=0)
    completion_tokens: StrictInt = Field(ge=0)
    total_tokens: StrictInt = Field(default=0, ge=0)
    status_code: StrictInt
    latency_ms: StrictInt = Field(ge=0)
    is_stream: StrictBool = False
    is_error: StrictBool = False
    error_message: StrictStr | None = None
    cache_hit: StrictBool = False
    fallback_used: StrictBool = False
    guardrail_triggered: StrictBool = False
    guardrail_results: Any = Field(default=None, exclude=True, repr=False)
    cost: StrictFloat = Field(ge=0, allow_inf_nan=False)
    auth_key_id: StrictStr | None = None
    user_id: StrictStr | None = None
    session_id: StrictStr | None = None
    metadata: StringMap | None = None
    request_body: Any = Field(default=None, exclude=True, repr=False)
    response_body: Any = Field(default=None, exclude=True, repr=False)
    request_headers: Any = Field(default=None, exclude=True, repr=False)


class LogBatch(_Contract):
    """The body of `POST /agentcc/webhook/logs/` (Go `logFlushPayload`; their Django side also
    accepts an optional `gateway_id`)."""

    logs: list[LogEntry]
    gateway_id: StrictStr | None = None


class IngestResult(_Contract):
    ingested: StrictInt


class Envelope[Result](_Contract):
    """Every answer: `{"status": true, "result": ...}`; the gateway refuses `status: false`."""

    status: StrictBool
    result: Result


OrgConfigsEnvelope = Envelope[dict[str, AgentccOrgConfig]]
KeysEnvelope = Envelope[list[SyncedKey]]
SpendEnvelope = Envelope[SpendSummary]
IngestEnvelope = Envelope[IngestResult]


def envelope(result: Any) -> dict:
    """The wrapper every answer to that gateway takes (`result` already JSON-ready)."""
    return {"status": True, "result": result}


# -- Our data → theirs -------------------------------------------------------------------------


def gateway_org_id(organization) -> str:
    """The org id that gateway sees: the primary key, which never changes (a slug can), so its
    budget counters and key→org links survive a rename."""
    return str(organization.pk)


# Their `api_format` (the wire protocol) per our provider type. Mistral and Groq speak the OpenAI
# protocol at their own public endpoints.
API_FORMATS = {
    ProviderType.OPENAI: "openai",
    ProviderType.ANTHROPIC: "anthropic",
    ProviderType.AZURE_OPENAI: "azure",
    ProviderType.GOOGLE: "gemini",
    ProviderType.BEDROCK: "bedrock",
    ProviderType.MISTRAL: "openai",
    ProviderType.GROQ: "openai",
    ProviderType.OPENAI_COMPATIBLE: "openai",
}
PUBLIC_BASE_URLS = {
    ProviderType.MISTRAL: "https://api.mistral.ai/v1",
    ProviderType.GROQ: "https://api.groq.com/openai/v1",
}
# Ours → theirs (routing/strategy.go). `priority` has no equivalent there: their default
# (round-robin) applies.
STRATEGIES = {
    RoutingStrategy.ROUND_ROBIN: "round-robin",
    RoutingStrategy.WEIGHTED: "weighted",
    RoutingStrategy.LEAST_LATENCY: "least-latency",
    RoutingStrategy.COST_OPTIMIZED: "cost-optimized",
}


def _money(value: Decimal) -> float:
    return float(value)


def org_config_entry(
    organization, config: OrgConfig, provider_keys: Mapping[str, str], *, keys: Iterable = ()
) -> AgentccOrgConfig:
    """The org's entry in the bulk config, from its config document and decrypted provider keys.

    - `providers[]` → `providers{name: ...}`: `type` → `api_format` (API_FORMATS), `base_url`
      (or the public endpoint of an OpenAI-protocol type), `models`, `enabled`, `weight` (as a
      number), `timeout_seconds` → `timeout`; the decrypted key → `api_key`. A Bedrock key goes
      to `api_key` too: our config has no AWS access-key/secret/region fields.
    - `routing`: `strategy` (STRATEGIES; `priority` has no equivalent and is left out),
      `default_model`, `fallbacks` → `model_fallbacks` (+ `fallback_enabled`), `retry` →
      `retry{enabled, max_retries, initial_delay: "<backoff_ms>ms"}`. `routing.timeout_seconds`
      (a whole-request limit) has no equivalent.
    - `caching` → `cache{enabled, backend: "memory", default_ttl, max_entries}`; mode `semantic`
      → `cache.semantic.enabled` (no vector backend is configured by us).
    - `rate_limiting`: `rpm` → `global_rpm`, `tpm` → `global_tpm`, `per_key_rpm/tpm` as named.
    - `budgets`: `limit` → `org_limit`, `period` → `org_period` and `default_period`, `action`
      block → `hard_limit`, the lowest alert threshold → `warn_threshold` (the others have no
      place). Each key with a budget in `keys` (pass the org's active gateway keys) →
      `budgets.keys[<key name>]` (their budget plugin finds a key's budget by its name).
    - `ip_acl` as is.
    Their guardrails, cost tracking, alerting, privacy, tool policy, MCP, audit, A2A, model
    database and model map have no equivalent in our document and are left out.
    """
    providers = {
        provider.name: ProviderConfig(
            api_key=provider_keys.get(provider.name),
            base_url=provider.base_url or PUBLIC_BASE_URLS.get(provider.type),
            api_format=API_FORMATS[provider.type],
            models=list(provider.models),
            timeout=provider.timeout_seconds,
            weight=float(provider.weight),
            enabled=provider.enabled,
        )
        for provider in config.providers
    }

    routing = config.routing
    retry = routing.retry
    routing_entry = RoutingConfig(
        strategy=STRATEGIES.get(routing.strategy),
        default_model=routing.default_model,
        fallback_enabled=bool(routing.fallbacks),
        model_fallbacks={model: list(chain) for model, chain in routing.fallbacks.items()} or None,
        retry=RetryConfig(
            enabled=retry.max_retries > 0,
            max_retries=retry.max_retries,
            initial_delay=f"{retry.backoff_ms}ms",
        ),
    )

    caching = config.caching
    cache = CacheConfig(
        enabled=caching.enabled,
        backend="memory",
        default_ttl=caching.ttl_seconds,
        max_entries=caching.max_entries,
        semantic=SemanticCacheConfig(enabled=True)
        if caching.mode == CacheMode.SEMANTIC and caching.enabled
        else None,
    )

    limits = config.rate_limiting
    rate_limiting = RateLimitConfig(
        enabled=limits.enabled,
        global_rpm=limits.rpm,
        global_tpm=limits.tpm,
        per_key_rpm=limits.per_key_rpm,
        per_key_tpm=limits.per_key_tpm,
    )

    budgets = config.budgets
    key_budgets = {
        key.name: BudgetLevelConfig(
            limit=_money(key.budget_limit),
            period=key.budget_period,
            hard=budgets.action == BudgetAction.BLOCK,
        )
        for key in keys
        if key.budget_limit is not None and "gateway" in key.scopes
    }
    warn_below_full = [t for t in budgets.alert_thresholds if t < 1]
    budgets_entry = BudgetsConfig(
        # Their gateway checks no budget at all when this is off, key budgets included.
        enabled=budgets.enabled or bool(key_budgets),
        default_period=budgets.period.value,
        org_limit=_money(budgets.limit) if budgets.enabled and budgets.limit is not None else None,
        org_period=budgets.period.value if budgets.enabled else None,
        hard_limit=budgets.action == BudgetAction.BLOCK,
        warn_threshold=min(warn_below_full) if warn_below_full else None,
        keys=key_budgets or None,
    )

    acl = config.ip_acl
    return AgentccOrgConfig(
        providers=providers,
        routing=routing_entry,
        cache=cache,
        rate_limiting=rate_limiting,
        budgets=budgets_entry,
        ip_acl=IPACLConfig(enabled=acl.enabled, allow=list(acl.allow), deny=list(acl.deny)),
    )


def synced_keys(key, *, now: datetime, retired_secrets: Iterable = ()) -> list[SyncedKey]:
    """The bulk-sync items for one of our keys: none unless it can send gateway traffic now.

    One item per secret that works now: the current hash, then each retired secret still in its
    grace period (`retired_secrets`: objects with `secret_hash` and `valid_until`, e.g. the key's
    `RetiredSecret` rows), all under the same `id` so logs name one key. Their list has no status
    (it replaces every synced key), so revoked and expired keys, keys without the `gateway`
    scope, and grace periods already over give no item.

    - `public_id` → `id` (it comes back as `auth_key_id` in logs); `name`; `secret_hash` /
      retired `secret_hash` → `key_hash`; `allowed_models` → `models`; `expires_at` (a retired
      secret's is its `valid_until`, or the key's expiry if sooner); `metadata` (values are
      strings already) with `org_id` set to `gateway_org_id` — overwriting any `org_id` a person
      put there, since the gateway picks the tenant from it.
    - `owner` ← "" and `providers` ← [] : we have neither per-key owner nor provider limits.
    - No place in SyncedKey: `allowed_ips`, `rate_limit_rpm/tpm` (their APIKey has them, but the
      sync does not carry them; org-wide `per_key_rpm/tpm` does), `scopes`, budget (goes to
      `budgets.keys` in the org config), created/rotated/last-used times.
    """
    if "gateway" not in key.scopes or key.status_at(now) != "active":
        return []
    metadata = {name: str(value) for name, value in (key.metadata or {}).items()}
    metadata["org_id"] = gateway_org_id(key.organization)

    def item(key_hash: str, expires_at: datetime | None) -> SyncedKey:
        return SyncedKey(
            id=key.public_id,
            name=key.name,
            owner="",
            key_hash=key_hash,
            models=list(key.allowed_models),
            providers=[],
            metadata=metadata,
            expires_at=expires_at,
        )

    items = [item(key.secret_hash, key.expires_at)]
    for retired in retired_secrets:
        if retired.valid_until > now and retired.secret_hash != key.secret_hash:
            ends = retired.valid_until
            if key.expires_at is not None:
                ends = min(ends, key.expires_at)
            items.append(item(retired.secret_hash, ends))
    return items


@dataclass(frozen=True)
class OrgSpend:
    """One org's spend in a period, as plain values (from the usage rollups)."""

    organization_id: str  # gateway_org_id
    total: Decimal
    # Our key public id → spend; `key_names` turns these into the names their budgets use.
    per_key: Mapping[str, Decimal] = field(default_factory=dict)
    per_user: Mapping[str, Decimal] = field(default_factory=dict)
    per_model: Mapping[str, Decimal] = field(default_factory=dict)


def budget_period_start(period: str, now: datetime) -> datetime:
    """Start of the current budget period, calendar-aligned in UTC (weeks start on Monday), as
    ours and theirs count; `total` starts at the beginning of time."""
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return midnight
    if period == "weekly":
        return midnight - timedelta(days=midnight.weekday())
    if period == "monthly":
        return midnight.replace(day=1)
    if period == "total":
        return datetime.min.replace(tzinfo=UTC)
    raise ValueError(f"period: must be one of daily, weekly, monthly, total (got {period!r})")


def spend_summary_result(
    *,
    period: str,
    period_start: datetime,
    orgs: Iterable[OrgSpend],
    key_names: Mapping[str, str] | None = None,
) -> SpendSummary:
    """`result` of the spend summary, from plain per-org spend.

    `total` → `total_spend`, `per_user`/`per_model` as named; `per_key` is keyed by the key's
    *name* when `key_names` (public id → name) knows it, else by the public id: their gateway
    seeds `budgets.keys[name]` from `per_key[name]`. Orgs without spend are left out, as theirs
    does. Amounts become floats (their wire type).
    """
    names = key_names or {}
    summaries = {}
    for org in orgs:
        if org.total <= 0:
            continue
        summaries[org.organization_id] = OrgSpendSummary(
            total_spend=_money(org.total),
            per_key={names.get(k, k): _money(v) for k, v in org.per_key.items() if v > 0},
            per_user={user: _money(v) for user, v in org.per_user.items() if v > 0},
            per_model={model: _money(v) for model, v in org.per_model.items() if v > 0},
        )
    return SpendSummary(period=period, period_start=period_start, orgs=summaries)


# -- Theirs → our ingest rows ------------------------------------------------------------------

INGEST_FIELDS = (
    "request_id",
    "key_id",
    "model",
    "provider",
    "status_code",
    "latency_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cost",
    "cache_hit",
    "fallback_used",
    "started_at",
    "user",
    "session_id",
    "error",
    "metadata",
)
METADATA_MAX_ENTRIES = 32
METADATA_MAX_KEY = 64
METADATA_MAX_VALUE = 256
ERROR_MAX = 2000
# Metadata the gateway sets itself and that has a column of its own (cost), or names the key
# or org we already know from `key_id`.
GATEWAY_METADATA = frozenset({"cost"})


def _bounded_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """At most METADATA_MAX_ENTRIES entries (by key order), keys and values cut to size."""
    if not metadata:
        return {}
    kept = {}
    for name in sorted(metadata):
        if name in GATEWAY_METADATA or not name:
            continue
        if len(kept) == METADATA_MAX_ENTRIES:
            break
        kept[name[:METADATA_MAX_KEY]] = str(metadata[name])[:METADATA_MAX_VALUE]
    return kept


@dataclass(frozen=True)
class RowProblem:
    """Why one row of a batch was refused: its index and `field: message` lines."""

    index: int
    errors: tuple[str, ...]


def log_rows(payload: Any) -> tuple[list[LogEntry], list[RowProblem]]:
    """The rows of a webhook body, each validated on its own so one bad row does not cost the
    batch (that gateway drops a whole batch on a 4xx). Raises ValidationError only when the body
    itself is not `{"logs": [...]}`."""
    if isinstance(payload, dict) and isinstance(payload.get("logs"), list):
        raw_rows = payload["logs"]
        LogBatch.model_validate({**payload, "logs": []})
    else:
        LogBatch.model_validate(payload)  # raises, naming what is wrong with the body
        raw_rows = []
    entries, problems = [], []
    for index, raw in enumerate(raw_rows):
        try:
            entries.append(LogEntry.model_validate(raw))
        except ValidationError as exc:
            problems.append(
                RowProblem(
                    index=index,
                    errors=tuple(
                        f"{'.'.join(str(part) for part in error['loc']) or 'row'}: {error['msg']}"
                        for error in exc.errors(include_url=False, include_input=False)
                    ),
                )
            )
    return entries, problems


def ingest_row(entry: LogEntry) -> dict:
    """Our native ingest row (exactly INGEST_FIELDS) from one of their log rows.

    `request_id`; `auth_key_id` → `key_id` (our public id, from the key sync); `resolved_model`
    (the model that answered, matching `provider`) or else `model` → `model`; `provider`;
    `status_code`; `latency_ms`; `prompt_tokens` → `input_tokens`; `completion_tokens` →
    `output_tokens`; `cost` (as Decimal); `cache_hit`; `fallback_used`; `timestamp` →
    `started_at`; `user_id` → `user`; `session_id`; `error_message` → `error`; `metadata`
    bounded (their `cost` copy dropped).
    Not in their row: `ttft_ms` (None) and `cached_tokens` (0).
    Dropped, never stored: `request_body`, `response_body`, `request_headers` (privacy),
    `guardrail_results`, and `total_tokens`, `is_stream`, `is_error` (derivable or not kept).
    """
    # Absent text is "" in our rows (as a native gateway leaves the field out), never None.
    error = entry.error_message or ""
    return {
        "request_id": entry.request_id,
        "key_id": entry.auth_key_id or None,
        "model": entry.resolved_model or entry.model,
        "provider": entry.provider,
        "status_code": entry.status_code,
        "latency_ms": entry.latency_ms,
        "ttft_ms": None,
        "input_tokens": entry.prompt_tokens,
        "output_tokens": entry.completion_tokens,
        "cached_tokens": 0,
        "cost": Decimal(repr(entry.cost)),
        "cache_hit": entry.cache_hit,
        "fallback_used": entry.fallback_used,
        "started_at": entry.timestamp,
        "user": entry.user_id or "",
        "session_id": entry.session_id or "",
        "error": error[:ERROR_MAX],
        "metadata": _bounded_metadata(entry.metadata),
    }
