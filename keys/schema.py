"""What a person chooses for a key, as one pydantic schema whose errors name the field and the fix.

`KeyAttributes` validates the key form, the services and the coming API's request body alike.
The rules that need the org, the clock or the actor (the org's models, a future expiry, who may
add the admin scope, unique names) run when `KeyAttributes.checked` is given `KeyRules`; the
services always give them, so one pass reports every problem at once.
"""

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from keys.models import BudgetPeriod, Scope, VirtualKey
from keys.permissions import GRANT_ADMIN_SCOPE, KeyRights
from prism_site.errors import Invalid

NAME_MAX_LENGTH = 100  # VirtualKey.name
METADATA_MAX_ENTRIES = 50
METADATA_MAX_LENGTH = 500
# What the columns hold on every database: rate limits are 32-bit integers on PostgreSQL, the
# budget is numeric(12, 2).
RATE_LIMIT_MAX = 2**31 - 1
BUDGET_LIMIT_MAX = Decimal("9999999999.99")
BUDGET_LIMIT_CENTS = Decimal("0.01")
# How much of a refused entry a message repeats: enough to find it, never a whole pasted file.
SHOWN_CHARACTERS = 60


def shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARACTERS else f"{text[:SHOWN_CHARACTERS]}…"


# -- One value at a time ------------------------------------------------------------------------


def _no_nul(text: str) -> str:
    # PostgreSQL stores no NUL in text or JSON.
    if "\x00" in text:
        raise ValueError("remove the null character (\\x00).")
    return text


def _name(value: str) -> str:
    name = value.strip()
    if not name:
        raise ValueError("give the key a name, such as the service that will use it.")
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"use at most {NAME_MAX_LENGTH} characters.")
    return name


def _scopes(value: list[str]) -> list[str]:
    scopes = sorted(set(value))
    if not scopes:
        raise ValueError("choose at least one scope (gateway to send requests through Prism).")
    if unknown := [scope for scope in scopes if scope not in Scope.values]:
        raise ValueError(
            f"{', '.join(map(shown, unknown))} is not a scope; use gateway and/or admin."
        )
    return scopes


def _rate_limit(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("enter a whole number of at least 1, or leave it empty for no limit.")
    if value > RATE_LIMIT_MAX:
        raise ValueError(f"must be at most {RATE_LIMIT_MAX}.")
    return value


def _ip_range(text: str) -> str:
    """The normalised network ("" for a blank entry), or what to fix."""
    text = text.strip()
    if not text:
        return ""
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError:
        try:
            suggestion = ipaddress.ip_network(text, strict=False)
        except ValueError:
            problem = "is not an IP address or CIDR range (10.0.0.0/8)."
        else:
            problem = f"has host bits set; did you mean {suggestion}?"
    raise ValueError(f"{shown(text)} {problem}")


def _budget_amount(value: Any) -> Decimal | None:
    """The amount in whole cents: only what numeric(12, 2) holds. Text is refused (the form
    parses what a person typed; the API sends a number)."""
    if value is None:
        return None
    unreadable = "enter an amount in USD such as 50 or 12.50, or leave it empty."
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(unreadable)
    if isinstance(value, int) and abs(value) > BUDGET_LIMIT_MAX:
        amount = Decimal(1 if value > 0 else -1).scaleb(12)  # no str() of a 5,000-digit int
    else:
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        raise ValueError(unreadable)
    if amount < 0:
        raise ValueError("enter an amount in USD of 0 or more, or leave it empty.")
    if amount > BUDGET_LIMIT_MAX:
        raise ValueError(f"must be at most {BUDGET_LIMIT_MAX}.")
    cents = amount.quantize(BUDGET_LIMIT_CENTS)
    if cents != amount:
        raise ValueError("use at most 2 decimal places (whole cents).")
    # 0E+99999999 is zero and -0 is 0: the plain amount is what gets stored.
    return cents + 0


def _budget_period(value: Any) -> str:
    if value in (None, ""):
        return ""
    if value not in BudgetPeriod.values:
        raise ValueError(f"must be one of {', '.join(BudgetPeriod.values)}.")
    return str(value)


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    text_pairs = isinstance(value, dict) and all(
        isinstance(name, str) and name and isinstance(text, str) for name, text in value.items()
    )
    if not text_pairs:
        raise ValueError("keys and values must be text, and keys must not be empty.")
    if any("\x00" in part for pair in value.items() for part in pair):
        raise ValueError("remove the null character (\\x00).")
    if len(value) > METADATA_MAX_ENTRIES:
        raise ValueError(f"use at most {METADATA_MAX_ENTRIES} entries.")
    for name, text in value.items():
        if len(name) > 100 or len(text) > METADATA_MAX_LENGTH:
            raise ValueError(
                f"{name[:40]}: keep keys within 100 and values within "
                f"{METADATA_MAX_LENGTH} characters."
            )
    return dict(value)


def _empty_if_none(value: Any) -> Any:
    return [] if value is None else value


Name = Annotated[str, AfterValidator(_no_nul), AfterValidator(_name)]
Scopes = Annotated[list[str], BeforeValidator(_empty_if_none), AfterValidator(_scopes)]
RateLimit = Annotated[int | None, PlainValidator(_rate_limit, json_schema_input_type=int | None)]
ModelName = Annotated[str, AfterValidator(_no_nul)]
IpRange = Annotated[str, AfterValidator(_no_nul), AfterValidator(_ip_range)]
BudgetAmount = Annotated[
    Decimal | None, PlainValidator(_budget_amount, json_schema_input_type=float | None)
]
Period = Annotated[str, PlainValidator(_budget_period, json_schema_input_type=BudgetPeriod)]
Metadata = Annotated[
    dict[str, str], PlainValidator(_metadata, json_schema_input_type=dict[str, str])
]


# -- The rules that need the org, the clock and the actor --------------------------------------


@dataclass
class KeyRules:
    """What the services know that the schema alone cannot: the key being edited (None when
    creating), the actor's rights, the org's models, the time, and a name lookup."""

    now: datetime
    rights: KeyRights
    # Models offered by the org's enabled providers; None when no provider lists any.
    offered_models: frozenset[str] | None
    # Whether another active key of the org holds this name, for a key expiring then.
    name_taken: Callable[[str, datetime | None], bool]
    editing: VirtualKey | None = None
    warnings: list[str] = field(default_factory=list)


def _rules(info: ValidationInfo) -> KeyRules | None:
    return info.context if isinstance(info.context, KeyRules) else None


def _rule_error(loc: tuple[str | int, ...], message: str, value: Any) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError("key_rule", "{reason}", {"reason": message}),
        loc=loc,
        input=value,
    )


class KeyAttributes(BaseModel):
    """What a person chooses for a key (create and edit take the same shape)."""

    model_config = ConfigDict(extra="forbid", frozen=True, revalidate_instances="always")

    name: Name
    scopes: Scopes = Field(default_factory=lambda: [Scope.GATEWAY.value])
    expires_at: AwareDatetime | None = None
    rate_limit_rpm: RateLimit = None
    rate_limit_tpm: RateLimit = None
    allowed_models: list[ModelName] = Field(default_factory=list)
    allowed_ips: list[IpRange] = Field(default_factory=list)
    budget_limit: BudgetAmount = None
    budget_period: Period = ""
    metadata: Metadata = Field(default_factory=dict)

    @classmethod
    def of(cls, key: VirtualKey) -> "KeyAttributes":
        """The key's stored attributes as they are (not re-checked against today's rules)."""
        return cls.model_construct(**{name: getattr(key, name) for name in cls.model_fields})

    @classmethod
    def checked(cls, data: "KeyAttributes | dict", *, rules: KeyRules | None = None):
        """`data` validated (with `rules`, also the rules that need the org); raises
        `KeyAttributesInvalid` naming every bad field."""
        try:
            return cls.model_validate(data, context=rules)
        except ValidationError as exc:
            raise KeyAttributesInvalid(field_errors(exc)) from None

    @field_validator("scopes")
    @classmethod
    def _admin_scope_needs_the_right(cls, scopes: list[str], info: ValidationInfo) -> list[str]:
        rules = _rules(info)
        held = rules.editing.scopes if rules and rules.editing else []
        adds_admin_scope = Scope.ADMIN.value in scopes and Scope.ADMIN.value not in held
        if rules and adds_admin_scope and rules.rights.grant_admin_scope is not True:
            raise ValueError(
                rules.rights.refusal(GRANT_ADMIN_SCOPE)
                or "the admin scope acts with this key's creator's role; ask an Owner."
            )
        return scopes

    @field_validator("expires_at")
    @classmethod
    def _expiry_in_the_future(cls, expires_at: datetime | None, info: ValidationInfo):
        rules = _rules(info)
        # An expired key may be edited (say, renamed) while keeping its expiry.
        unchanged = rules and rules.editing and rules.editing.expires_at == expires_at
        if rules and expires_at is not None and expires_at <= rules.now and not unchanged:
            raise ValueError("pick a time in the future, or leave it empty for no expiry.")
        return expires_at

    @field_validator("allowed_models")
    @classmethod
    def _models_the_org_offers(cls, models: list[str], info: ValidationInfo) -> list[str]:
        models = sorted({model.strip() for model in models if model.strip()})
        rules = _rules(info)
        if not models or rules is None:
            return models
        offered = rules.offered_models
        if offered is None:
            rules.warnings.append(
                "allowed_models: the org's providers list no models, so "
                f"{', '.join(map(shown, models))} could not be checked; make sure the names "
                "are right."
            )
        elif missing := [model for model in models if model not in offered]:
            raise ValueError(
                f"{', '.join(map(shown, missing))} {'is' if len(missing) == 1 else 'are'} not "
                "offered by any enabled provider of this org (offered: "
                f"{', '.join(sorted(offered)) or 'none'}); remove it or add it to a provider first."
            )
        return models

    @field_validator("allowed_ips")
    @classmethod
    def _distinct_ranges(cls, ranges: list[str]) -> list[str]:
        return [network for network in dict.fromkeys(ranges) if network]

    @model_validator(mode="wrap")
    @classmethod
    def _rules_across_fields(cls, data: Any, handler, info: ValidationInfo) -> "KeyAttributes":
        """Report the budget pair and the name's uniqueness beside every field's own errors."""
        problems: list[Any] = []
        try:
            attributes = handler(data)
        except ValidationError as exc:
            attributes, problems = None, exc.errors()
        raw = data.__dict__ if isinstance(data, KeyAttributes) else data
        if isinstance(raw, dict):
            limit, period = raw.get("budget_limit"), raw.get("budget_period")
            if limit is not None and not period:
                problems.append(
                    _rule_error(
                        ("budget_period",),
                        "choose the period the budget applies to (daily, weekly, ...).",
                        period,
                    )
                )
            if limit is None and period:
                problems.append(
                    _rule_error(
                        ("budget_limit",),
                        "enter the budget in USD for that period, or clear the period.",
                        limit,
                    )
                )
        rules = _rules(info)
        if rules is not None and (taken := _name_taken(rules, attributes, raw, problems)):
            problems.append(
                _rule_error(
                    ("name",),
                    f"another active key is already called {taken}; choose a different name "
                    "(or revoke the other key first).",
                    taken,
                )
            )
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return attributes


_NAME = TypeAdapter(Name)


def _name_taken(rules: KeyRules, attributes, raw: Any, problems: list) -> str:
    """The name, when another active key holds it; asked whenever the name itself is valid,
    so the answer comes beside the other fields' errors."""
    if attributes is not None:
        name, expires_at = attributes.name, attributes.expires_at
    else:
        failed = {error["loc"][:1] for error in problems}
        if ("name",) in failed or not isinstance(raw, dict):
            return ""
        try:
            name = _NAME.validate_python(raw.get("name"))
        except ValidationError:
            return ""
        # An expiry that broke its own rule still says whether the key would be active.
        expires_at = raw.get("expires_at")
        expires_at = expires_at if isinstance(expires_at, datetime) else None
    return name if rules.name_taken(name, expires_at) else ""


# -- Errors that name the field -----------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """One problem: where (`loc` for code, `path` for the API: `allowed_ips.1`) and the fix."""

    loc: tuple[str | int, ...]
    message: str

    @property
    def path(self) -> str:
        return ".".join(str(part) for part in self.loc)

    @property
    def field(self) -> str:
        return str(self.loc[0]) if self.loc else ""

    def __str__(self) -> str:
        # People see the field as the form labels it; the API reads `path` for the entry.
        return f"{self.field}: {self.message}" if self.loc else self.message


class KeyAttributesInvalid(Invalid):
    """The attributes break the schema; `field_errors` name every bad field and entry (with the
    entry's path for the API), `errors` hold the messages by field, as the form shows them."""

    def __init__(self, errors: list[FieldError]):
        by_field: dict[str, list[str]] = {}
        for error in errors:
            by_field.setdefault(error.field, []).append(str(error))
        super().__init__(errors=by_field)
        self.field_errors = errors


_TYPE_MESSAGES = {
    "string_type": "must be text.",
    "list_type": "must be a list.",
    "timezone_aware": "include the time zone, such as 2030-01-31T12:00:00Z.",
    "model_type": "must be an object with the key's fields.",
    "model_attributes_type": "must be an object with the key's fields.",
    "dict_type": "must be an object with the key's fields.",
}


def _message(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "key_rule":
        return ctx["reason"]
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "missing" and tuple(error["loc"]) == ("name",):
        return "give the key a name, such as the service that will use it."
    if kind == "missing":
        return "is required."
    if kind == "extra_forbidden":
        return "unknown field; the fields are " + ", ".join(KeyAttributes.model_fields) + "."
    if kind.startswith("datetime"):
        return "enter a date and time with its time zone, such as 2030-01-31T12:00:00Z."
    return _TYPE_MESSAGES.get(kind, error["msg"])


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors as `field: what to do` messages, one per problem."""
    return [
        FieldError(loc=tuple(error["loc"]), message=_message(error))
        for error in exc.errors(include_url=False, include_input=False)
    ]
