"""The org config document of SPEC §4 as one pydantic schema, and its path-named error messages.

The same models validate the Settings > Organization forms, the JSON editor and the admin API.
Stored documents hold provider secrets only as `StoredSecret` references (id + mask); a plaintext
key exists only on the way in (`SecretStr`, which never prints) until the service encrypts it.
"""

import copy
import ipaddress
import json
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from orgs import provider_hosts
from prism_site.errors import Invalid

SECTIONS = ("providers", "routing", "caching", "rate_limiting", "budgets", "ip_acl")
MASK_MARK = "…"
# The root of the document in error paths, when the document itself is wrong.
ROOT = "document"


# Control and format characters (newlines, NUL, bidi overrides), line separators and lone
# surrogates: PostgreSQL's JSON cannot store some, and none belongs in a name, model or address.
INVISIBLE_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")


def visible_text(value: str) -> str:
    for position, character in enumerate(value):
        if unicodedata.category(character) in INVISIBLE_CATEGORIES:
            raise ValueError(
                f"must not contain control characters (found U+{ord(character):04X} at "
                f"character {position + 1}); remove it"
            )
    return value


def _no_spaces(value: str) -> str:
    if any(character.isspace() for character in value):
        raise ValueError("must not contain spaces")
    return value


Text = Annotated[str, Field(max_length=200), AfterValidator(visible_text)]
ModelName = Annotated[
    str,
    Field(min_length=1, max_length=200),
    AfterValidator(visible_text),
    AfterValidator(_no_spaces),
]
MONEY_MAX = Decimal("999999999999.99")


def _money_amount(value: Decimal) -> Decimal:
    """At most MONEY_MAX with 2 decimal places, checked without arithmetic (1e9999999 and
    1e-9999999 are valid Decimals that overflow any context)."""
    if value == 0:
        return Decimal(0)
    if value.adjusted() >= 12:
        raise ValueError(f"must be at most {MONEY_MAX}")
    _, digits, exponent = value.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if exponent + trailing_zeros < -2:
        raise ValueError("use at most 2 decimal places")
    return value


# Decimals travel as JSON numbers; 14 digits with 2 places survive the float round trip exactly.
Money = Annotated[
    Decimal,
    Field(ge=0),
    AfterValidator(_money_amount),
    PlainSerializer(
        lambda value: int(value) if value == value.to_integral_value() else float(value),
        return_type=int | float,
        when_used="json",
    ),
]
PositiveLimit = Annotated[StrictInt, Field(ge=1, le=10**12)]

# Always used with fullmatch: `$` would let a trailing newline through.
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


class ProviderType(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    AZURE_OPENAI = "azure_openai"
    GOOGLE = "google"
    BEDROCK = "bedrock"
    MISTRAL = "mistral"
    GROQ = "groq"
    OPENAI_COMPATIBLE = "openai_compatible"


# These have no public default endpoint, so the provider entry must say where to connect.
TYPES_NEEDING_BASE_URL = {ProviderType.AZURE_OPENAI, ProviderType.OPENAI_COMPATIBLE}


class RoutingStrategy(StrEnum):
    PRIORITY = "priority"
    ROUND_ROBIN = "round_robin"
    WEIGHTED = "weighted"
    LEAST_LATENCY = "least_latency"
    COST_OPTIMIZED = "cost_optimized"


class CacheMode(StrEnum):
    EXACT = "exact"
    SEMANTIC = "semantic"


class BudgetPeriod(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    TOTAL = "total"


class BudgetAction(StrEnum):
    BLOCK = "block"
    WARN = "warn"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=False)


class StoredSecret(_Section):
    """A provider secret at rest: the id of its encrypted `ProviderSecret` row and its mask."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_id: StrictInt = Field(ge=1)
    masked: str = Field(max_length=40)


def _base_url(value: str) -> str:
    visible_text(value)
    if any(character.isspace() for character in value):
        raise ValueError("must not contain spaces")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"not a valid URL ({error})") from None
    if parts.scheme != "https":
        raise ValueError("must start with https:// (plain http would expose the API key)")
    host = parts.hostname or ""
    if not host:
        raise ValueError("must name a host, e.g. https://api.example.com/v1")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password; use the api_key field")
    if port == 0:
        raise ValueError("port must be between 1 and 65535")
    if parts.query or parts.fragment:
        raise ValueError("must not contain a query string or fragment")
    problem = provider_hosts.literal_problem(host)
    if problem:
        raise ValueError(problem)
    return value


BaseUrl = Annotated[str, Field(max_length=2000), AfterValidator(_base_url)]


class Provider(_Section):
    name: str = Field(max_length=63)
    type: ProviderType
    # None: the provider's public endpoint (types in TYPES_NEEDING_BASE_URL must set one).
    base_url: BaseUrl | None = None
    # Stored documents hold a StoredSecret; SecretStr is a new plaintext key until it is encrypted.
    api_key: StoredSecret | SecretStr | None = None
    models: list[ModelName] = Field(default_factory=list, max_length=500)
    enabled: StrictBool = True
    weight: StrictInt = Field(default=1, ge=0, le=1_000_000)
    timeout_seconds: StrictInt = Field(default=60, ge=1, le=600)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.fullmatch(value):
            raise ValueError(
                "must be a slug: lowercase letters, digits, hyphens or underscores, starting with "
                "a letter or digit (e.g. openai-prod)"
            )
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _api_key(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or isinstance(value, StoredSecret | SecretStr):
            return value
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("enter the provider's API key, or leave the field out")
            if len(value) > 4096:
                raise ValueError("must be at most 4096 characters")
            if any(unicodedata.category(c) in ("Cc", "Cs", "Zs") for c in value):
                raise ValueError("must not contain spaces or control characters")
            if MASK_MARK in value:
                raise ValueError(
                    "this is a masked key; paste the full key, or leave the field out to keep "
                    "the current one"
                )
            return SecretStr(value)
        if isinstance(value, dict) and not (info.context or {}).get("untrusted"):
            return value
        raise ValueError("must be the API key as text")

    @field_validator("models")
    @classmethod
    def _unique_models(cls, value: list[str]) -> list[str]:
        seen = set()
        for model in value:
            if model in seen:
                raise ValueError(f"lists {model} twice; list each model once")
            seen.add(model)
        return value


class Retry(_Section):
    max_retries: StrictInt = Field(default=2, ge=0, le=10)
    backoff_ms: StrictInt = Field(default=250, ge=0, le=60_000)


class Routing(_Section):
    strategy: RoutingStrategy = RoutingStrategy.PRIORITY
    default_model: ModelName | None = None
    fallbacks: dict[ModelName, list[ModelName]] = Field(default_factory=dict, max_length=200)
    retry: Retry = Field(default_factory=Retry)
    timeout_seconds: StrictInt = Field(default=60, ge=1, le=600)

    @field_validator("fallbacks")
    @classmethod
    def _fallback_lists(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for model, fallbacks in value.items():
            if not fallbacks:
                raise ValueError(f"{model}: list at least one fallback model, or remove the entry")
            if len(fallbacks) > 20:
                raise ValueError(f"{model}: at most 20 fallbacks")
            if model in fallbacks:
                raise ValueError(f"{model}: a model cannot be its own fallback")
            if len(set(fallbacks)) != len(fallbacks):
                raise ValueError(f"{model}: list each fallback once")
        return value


class Caching(_Section):
    enabled: StrictBool = False
    mode: CacheMode = CacheMode.EXACT
    ttl_seconds: StrictInt = Field(default=3600, ge=1, le=604_800)
    max_entries: StrictInt = Field(default=10_000, ge=1, le=100_000_000)


class RateLimiting(_Section):
    enabled: StrictBool = False
    rpm: PositiveLimit | None = None
    tpm: PositiveLimit | None = None
    per_key_rpm: PositiveLimit | None = None
    per_key_tpm: PositiveLimit | None = None


Threshold = Annotated[float, Field(gt=0, le=1, strict=True, allow_inf_nan=False)]


class Budgets(_Section):
    enabled: StrictBool = False
    # None: unlimited.
    limit: Money | None = None
    # Periods are calendar-aligned in UTC.
    period: BudgetPeriod = BudgetPeriod.MONTHLY
    alert_thresholds: list[Threshold] = Field(
        default_factory=lambda: [0.5, 0.8, 1.0], max_length=10
    )
    action: BudgetAction = BudgetAction.BLOCK

    @field_validator("alert_thresholds")
    @classmethod
    def _sorted_unique(cls, value: list[float]) -> list[float]:
        if len(set(value)) != len(value):
            raise ValueError("list each threshold once")
        return sorted(value)


def _cidr(value: str) -> str:
    visible_text(value)
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError(
            f"{value[:60]!r} is not an IP network; "
            "write a CIDR such as 203.0.113.0/24 or 2001:db8::/32"
        ) from None


Cidr = Annotated[str, Field(max_length=64), AfterValidator(_cidr)]


class IpAcl(_Section):
    enabled: StrictBool = False
    allow: list[Cidr] = Field(default_factory=list, max_length=1000)
    # Deny wins over allow.
    deny: list[Cidr] = Field(default_factory=list, max_length=1000)


class OrgConfig(_Section):
    """One org's whole config document (SPEC §4). Every section has defaults.

    Validate input with `validate_document`, which adds the rules spanning fields (`cross_check`).
    """

    providers: list[Provider] = Field(default_factory=list, max_length=100)
    routing: Routing = Field(default_factory=Routing)
    caching: Caching = Field(default_factory=Caching)
    rate_limiting: RateLimiting = Field(default_factory=RateLimiting)
    budgets: Budgets = Field(default_factory=Budgets)
    ip_acl: IpAcl = Field(default_factory=IpAcl)

    def provider(self, name: str) -> Provider | None:
        return next((provider for provider in self.providers if provider.name == name), None)

    @property
    def enabled_models(self) -> list[str]:
        """Every model an enabled provider serves, sorted and without duplicates."""
        return sorted({model for p in self.providers if p.enabled for model in p.models})


SECTION_MODELS: dict[str, type[BaseModel]] = {
    "providers": Provider,
    "routing": Routing,
    "caching": Caching,
    "rate_limiting": RateLimiting,
    "budgets": Budgets,
    "ip_acl": IpAcl,
}


# -- Errors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigError:
    """One problem in a config document: where (`loc` for code, `path` for people) and the fix."""

    loc: tuple[str | int, ...]
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigInvalid(Invalid):
    """The document does not satisfy the schema; `problems` name every bad path (and `errors`
    map each path to its messages, as every Invalid does)."""

    def __init__(self, problems: list[ConfigError]):
        errors: dict[str, list[str]] = {}
        for problem in problems:
            errors.setdefault(problem.path, []).append(problem.message)
        super().__init__("; ".join(str(problem) for problem in problems), errors=errors)
        self.problems = problems

    @classmethod
    def at(cls, loc: tuple[str | int, ...], message: str) -> "ConfigInvalid":
        return cls([ConfigError(loc=loc, path=format_path(loc), message=message)])


PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,80}")


def format_path(loc: tuple[str | int, ...]) -> str:
    """`budgets.period`, `providers[0].name`; odd keys quoted: `routing.fallbacks["a b"]`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            continue
        elif PLAIN_KEY.fullmatch(str(part)):
            path += f".{part}" if path else str(part)
        else:
            path += "[" + json.dumps(str(part)[:40]) + "]"
    return path or ROOT


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the field at `loc` (for listing the allowed fields)."""
    model: type[BaseModel] | None = OrgConfig
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        if part == "providers" and model is OrgConfig:
            model = Provider
        elif part in model.model_fields:
            annotation = model.model_fields[part].annotation
            model = (
                annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel)
                else None
            )
        else:
            return None
    return model


def _choices(expected: str) -> str:
    return expected.replace("'", "").replace(" or ", ", ")


_SIMPLE_MESSAGES = {
    "missing": "is required",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "decimal_type": "must be a number (e.g. 250 or 99.50)",
    "decimal_parsing": "must be a number (e.g. 250 or 99.50)",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "url_parsing": "must be a URL",
}


def _message(error: dict) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    loc = tuple(error["loc"])
    if kind == "extra_forbidden":
        model = _model_at(loc)
        if model is OrgConfig:
            return "unknown section; the sections are " + ", ".join(SECTIONS)
        if model is not None:
            return "unknown field; allowed fields are " + ", ".join(model.model_fields)
        return "unknown field"
    if kind in ("enum", "literal_error"):
        return "must be one of " + _choices(str(ctx.get("expected", "")))
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "greater_than":
        return f"must be greater than {ctx['gt']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    if kind == "less_than":
        return f"must be less than {ctx['lt']}"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} items"
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} items"
    if kind == "decimal_max_places":
        return f"use at most {ctx['decimal_places']} decimal places"
    if kind in ("decimal_max_digits", "decimal_whole_digits"):
        return "is too large"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"])).removeprefix("Value error, ")
    return _SIMPLE_MESSAGES.get(kind, error["msg"][:1].lower() + error["msg"][1:])


def config_errors(exc: ValidationError, *, prefix: tuple[str | int, ...] = ()) -> list[ConfigError]:
    """Turn pydantic's errors into `path: what is allowed` messages, one per problem."""
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = prefix + tuple(part for part in error["loc"] if part != "[key]")
        errors.append(ConfigError(loc=loc, path=format_path(loc), message=_message(error)))
    return errors


def cross_check(config: OrgConfig) -> list[ConfigError]:
    """Rules that span fields: unique provider names, endpoints for types without a default."""
    errors = []
    first_index: dict[str, int] = {}
    for index, provider in enumerate(config.providers):
        if provider.name in first_index:
            loc = ("providers", index, "name")
            errors.append(
                ConfigError(
                    loc=loc,
                    path=format_path(loc),
                    message=(
                        f"{provider.name} is already used by "
                        f"providers[{first_index[provider.name]}]; "
                        "provider names must be unique"
                    ),
                )
            )
        first_index.setdefault(provider.name, index)
        if provider.base_url is None and provider.type in TYPES_NEEDING_BASE_URL:
            loc = ("providers", index, "base_url")
            errors.append(
                ConfigError(
                    loc=loc,
                    path=format_path(loc),
                    message=(
                        f"required for type {provider.type.value}; enter the endpoint, "
                        "e.g. https://example.openai.azure.com"
                    ),
                )
            )
    return errors


def validate_document(data: Any, *, untrusted: bool = True) -> OrgConfig:
    """Validate a whole document; raises `ConfigInvalid` naming each bad path.

    `untrusted` (people, the API) refuses stored-secret references: only the service may carry
    an existing secret over, so nobody can point a provider at another org's secret.
    """
    if not isinstance(data, dict):
        raise ConfigInvalid(
            [
                ConfigError(
                    loc=(),
                    path=ROOT,
                    message="must be a JSON object with the sections " + ", ".join(SECTIONS),
                )
            ]
        )
    try:
        config = OrgConfig.model_validate(data, context={"untrusted": untrusted})
    except ValidationError as exc:
        raise ConfigInvalid(config_errors(exc)) from None
    except RecursionError:
        raise ConfigInvalid(
            [ConfigError(loc=(), path=ROOT, message="is nested too deeply")]
        ) from None
    errors = cross_check(config)
    if errors:
        raise ConfigInvalid(errors)
    return config


_LEFT_OUT = object()
# A stored value shown back in a "needs fixing" note, never a secret.
_SHOWN_VALUE_CHARS = 80


def read_stored(document: Any) -> tuple[OrgConfig, list[ConfigError]]:
    """A stored document back into the schema, never failing, and what in it needs fixing.

    A version stored before a rule existed (or written by hand) may no longer pass: each value
    that fails is left out (its default applies; a provider missing its name or type is left
    out whole) and named in the problems, so pages still render and a save stores the rest.
    """
    context = {"untrusted": False}
    if not isinstance(document, dict):
        return OrgConfig(), [
            ConfigError(
                loc=(),
                path=ROOT,
                message="is not a JSON object; the defaults are in force until it is saved again",
            )
        ]
    problems: list[ConfigError] = []
    try:
        for _attempt in range(5):
            try:
                config = OrgConfig.model_validate(document, context=context)
            except ValidationError as exc:
                if _attempt == 0:
                    document = copy.deepcopy(document)
                for error in exc.errors(include_url=False, include_input=False):
                    problems.append(_left_out(document, error))
                document = _without_left_out(document)
            else:
                return config, problems + cross_check(config)
    except RecursionError:
        pass
    return OrgConfig(), problems + [
        ConfigError(loc=(), path=ROOT, message="cannot be read; the defaults are in force")
    ]


def _left_out(document: dict, error: dict) -> ConfigError:
    """Mark the deepest stored value on the error's path as left out; describe the problem."""
    loc = tuple(part for part in error["loc"] if part != "[key]")
    steps: list[tuple[Any, Any]] = []  # (container, key) down to the deepest stored value
    node: Any = document
    for part in loc:
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            break
        steps.append((node, part))
        node = node[part]
    message = _message(error)
    found = loc[: len(steps)]
    holder = _model_at(found) if found else None
    if (
        len(steps) > 1
        and holder is not None
        and found[-1] in holder.model_fields
        and holder.model_fields[str(found[-1])].is_required()
    ):
        # A required field (a provider's name or type) cannot take a default: leave out the
        # whole item that holds it.
        steps.pop()
        message += "; the whole entry is left out"
    elif error["type"] == "missing" and found and isinstance(found[-1], int):
        message += "; the whole entry is left out"
    if steps:
        parent, key = steps[-1]
        parent[key] = _LEFT_OUT
        if "api_key" not in loc and node is not _LEFT_OUT:
            try:
                shown = json.dumps(node, ensure_ascii=True)
            except (TypeError, ValueError, RecursionError):
                shown = "?"
            if len(shown) > _SHOWN_VALUE_CHARS:
                shown = shown[: _SHOWN_VALUE_CHARS - 1] + "…"
            message += f" (stored: {shown})"
    return ConfigError(loc=loc, path=format_path(loc), message=message)


def _without_left_out(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_left_out(v) for k, v in value.items() if v is not _LEFT_OUT}
    if isinstance(value, list):
        return [_without_left_out(item) for item in value if item is not _LEFT_OUT]
    return value


def stored_document(config: OrgConfig) -> dict:
    """The JSON stored in a ConfigVersion: provider secrets as references only."""
    for provider in config.providers:
        if isinstance(provider.api_key, SecretStr):
            raise ValueError(f"providers.{provider.name}.api_key: encrypt the key before storing")
    return config.model_dump(mode="json")


def masked_document(config: OrgConfig) -> dict:
    """The document people and the admin API see: each provider secret as its mask only."""
    document = config.model_dump(mode="json", exclude={"providers": {"__all__": {"api_key"}}})
    for provider, shown in zip(config.providers, document["providers"], strict=True):
        secret = provider.api_key
        shown["api_key"] = (
            secret.masked
            if isinstance(secret, StoredSecret)
            else "(new key, not saved yet)"
            if isinstance(secret, SecretStr)
            else None
        )
    # Keep the field order of the schema so the raw view reads like the docs.
    document["providers"] = [
        {field: shown[field] for field in Provider.model_fields} for shown in document["providers"]
    ]
    return document
