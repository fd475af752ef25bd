"""The effective policy of a key: its org's config intersected with the key's own restrictions.

Rate limits: the lowest of the key's limit, the org's per-key limit and the org-wide limit (one
key can never go faster than the whole org). Models: the key's list intersected with the models
the org's enabled providers offer. Budgets: the org's and the key's both apply. IP access: the
org's allow/deny lists and the key's allowed ranges both apply.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from keys.models import BudgetPeriod, VirtualKey


@dataclass(frozen=True)
class Limit:
    value: int | None  # None: unlimited
    source: str = ""  # which setting binds: "key", "org per-key limit", "org limit"


@dataclass(frozen=True)
class Budget:
    limit: Decimal
    period: str
    source: str  # "org" or "key"
    action: str = "block"  # what the gateway does when it is spent: block or warn


@dataclass(frozen=True)
class OrgLimits:
    """The parts of an org's config that bound a key (read from OrgConfig by `org_limits`)."""

    rate_limiting_enabled: bool = False
    rpm: int | None = None
    tpm: int | None = None
    per_key_rpm: int | None = None
    per_key_tpm: int | None = None
    # Models offered by the org's enabled providers; None when no provider lists any model.
    models: frozenset[str] | None = None
    budget: Budget | None = None
    # The org budget's period even when it has no limit: a key without a budget of its own
    # counts its spend in it.
    budget_period: str = BudgetPeriod.MONTHLY.value
    ip_acl_enabled: bool = False
    ip_allow: tuple[str, ...] = ()
    ip_deny: tuple[str, ...] = ()

    @property
    def sorted_models(self) -> list[str]:
        return sorted(self.models) if self.models is not None else []


@dataclass(frozen=True)
class EffectivePolicy:
    rpm: Limit
    tpm: Limit
    # None: any model the org's providers accept; an empty set: no model at all.
    models: frozenset[str] | None
    # Models the key lists that no enabled provider of the org offers (they are dropped).
    models_not_offered: tuple[str, ...]
    budgets: tuple[Budget, ...]
    key_allowed_ips: tuple[str, ...]
    org_ip_allow: tuple[str, ...] = ()
    org_ip_deny: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def sorted_models(self) -> list[str]:
        return sorted(self.models) if self.models is not None else []

    def allows_model(self, model: str) -> bool:
        return self.models is None or model in self.models


def _lowest(candidates: list[tuple[int | None, str]]) -> Limit:
    present = [(value, source) for value, source in candidates if value is not None]
    if not present:
        return Limit(None)
    # min() keeps the first of equal values, so a key limit equal to the org's reads "key".
    value, source = min(present, key=lambda pair: pair[0])
    return Limit(value, source)


def effective_policy(key: VirtualKey, org: OrgLimits) -> EffectivePolicy:
    org_rpm = org.rate_limiting_enabled
    rpm = _lowest(
        [
            (key.rate_limit_rpm, "key"),
            (org.per_key_rpm if org_rpm else None, "org per-key limit"),
            (org.rpm if org_rpm else None, "org limit"),
        ]
    )
    tpm = _lowest(
        [
            (key.rate_limit_tpm, "key"),
            (org.per_key_tpm if org_rpm else None, "org per-key limit"),
            (org.tpm if org_rpm else None, "org limit"),
        ]
    )

    key_models = frozenset(key.allowed_models or ())
    if not key_models:
        models, not_offered = org.models, ()
    elif org.models is None:
        models, not_offered = key_models, ()
    else:
        models = key_models & org.models
        not_offered = tuple(sorted(key_models - org.models))

    budgets = []
    if org.budget is not None:
        budgets.append(org.budget)
    if key.budget_limit is not None:
        budgets.append(Budget(limit=key.budget_limit, period=key.budget_period, source="key"))

    notes = []
    if models is not None and not models:
        notes.append(
            "None of the models this key allows is offered by the org's providers: "
            "the key cannot call any model until its list or the providers change."
        )
    return EffectivePolicy(
        rpm=rpm,
        tpm=tpm,
        models=models,
        models_not_offered=not_offered,
        budgets=tuple(budgets),
        key_allowed_ips=tuple(key.allowed_ips or ()),
        org_ip_allow=org.ip_allow if org.ip_acl_enabled else (),
        org_ip_deny=org.ip_deny if org.ip_acl_enabled else (),
        notes=tuple(notes),
    )


def period_window(period: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The calendar-aligned UTC window of a budget period containing `now` ([start, end))."""
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == BudgetPeriod.DAILY:
        return midnight, midnight + timedelta(days=1)
    if period == BudgetPeriod.WEEKLY:
        start = midnight - timedelta(days=midnight.weekday())
        return start, start + timedelta(days=7)
    if period == BudgetPeriod.MONTHLY:
        start = midnight.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else (start.replace(month=start.month + 1))
        )
        return start, end
    return None, None


def org_limits_from_config(config) -> OrgLimits:
    """Read the bounds on a key out of an org's `OrgConfig` document."""
    rate, budgets, ip_acl = config.rate_limiting, config.budgets, config.ip_acl
    budget = None
    if budgets.enabled and budgets.limit is not None:
        budget = Budget(
            limit=Decimal(budgets.limit),
            period=str(budgets.period.value),
            source="org",
            action=str(budgets.action.value),
        )
    return OrgLimits(
        rate_limiting_enabled=rate.enabled,
        rpm=rate.rpm,
        tpm=rate.tpm,
        per_key_rpm=rate.per_key_rpm,
        per_key_tpm=rate.per_key_tpm,
        models=frozenset(config.enabled_models) or None,
        budget=budget,
        budget_period=str(budgets.period.value),
        ip_acl_enabled=ip_acl.enabled,
        ip_allow=tuple(ip_acl.allow),
        ip_deny=tuple(ip_acl.deny),
    )
