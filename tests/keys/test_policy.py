"""Effective policy = org config ∩ key: lowest limits, model intersection, both budgets."""

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from keys.models import VirtualKey
from keys.policy import Budget, OrgLimits, effective_policy, period_window
from keys.selectors import organization_limits
from tests.keys.conftest import set_org_config

limits = st.none() | st.integers(min_value=1, max_value=10**9)
models = st.sampled_from(["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "mistral-large", "llama-3"])
model_sets = st.frozensets(models, max_size=5)


def key_with(**fields) -> VirtualKey:
    return VirtualKey(**fields)


@given(
    enabled=st.booleans(),
    org_rpm=limits,
    per_key_rpm=limits,
    key_rpm=limits,
    org_tpm=limits,
    per_key_tpm=limits,
    key_tpm=limits,
)
def test_rate_limits_are_the_lowest_that_applies(
    enabled, org_rpm, per_key_rpm, key_rpm, org_tpm, per_key_tpm, key_tpm
):
    org = OrgLimits(
        rate_limiting_enabled=enabled,
        rpm=org_rpm,
        per_key_rpm=per_key_rpm,
        tpm=org_tpm,
        per_key_tpm=per_key_tpm,
    )
    policy = effective_policy(key_with(rate_limit_rpm=key_rpm, rate_limit_tpm=key_tpm), org)
    for effective, key_limit, org_limits_ in (
        (policy.rpm, key_rpm, [per_key_rpm, org_rpm]),
        (policy.tpm, key_tpm, [per_key_tpm, org_tpm]),
    ):
        applicable = [key_limit] + (org_limits_ if enabled else [])
        present = [value for value in applicable if value is not None]
        if not present:
            assert effective.value is None and effective.source == ""
        else:
            assert effective.value == min(present)
            assert all(effective.value <= value for value in present)
            source_value = {
                "key": key_limit,
                "org per-key limit": org_limits_[0],
                "org limit": org_limits_[1],
            }[effective.source]
            assert source_value == effective.value


@given(org_models=st.none() | model_sets, key_models=model_sets)
def test_models_are_the_intersection(org_models, key_models):
    org = OrgLimits(models=org_models)
    policy = effective_policy(key_with(allowed_models=sorted(key_models)), org)
    if not key_models:
        assert policy.models == org_models
    elif org_models is None:
        assert policy.models == key_models
    else:
        assert policy.models == key_models & org_models
        assert set(policy.models_not_offered) == key_models - org_models
    for model in ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "mistral-large", "llama-3"]:
        allowed_by_key = not key_models or model in key_models
        allowed_by_org = org_models is None or model in org_models
        assert policy.allows_model(model) == (allowed_by_key and allowed_by_org)
    assert bool(policy.notes) == (policy.models is not None and not policy.models)


@given(
    org_budget=st.none() | st.decimals(min_value=0, max_value=10**6, places=2),
    key_budget=st.none() | st.decimals(min_value=0, max_value=10**6, places=2),
)
def test_both_budgets_apply(org_budget, key_budget):
    org = OrgLimits(
        budget=None if org_budget is None else Budget(org_budget, "monthly", "org", "warn")
    )
    key = key_with(budget_limit=key_budget, budget_period="daily" if key_budget is not None else "")
    policy = effective_policy(key, org)
    expected = []
    if org_budget is not None:
        expected.append(("org", org_budget, "monthly"))
    if key_budget is not None:
        expected.append(("key", key_budget, "daily"))
    assert [(b.source, b.limit, b.period) for b in policy.budgets] == expected


def test_org_limits_are_read_from_the_org_config(configured_org):
    limits_ = organization_limits(configured_org)
    assert limits_.rate_limiting_enabled
    assert (limits_.rpm, limits_.tpm, limits_.per_key_rpm, limits_.per_key_tpm) == (
        1000,
        200000,
        120,
        None,
    )
    # The disabled provider's model is not offered.
    assert limits_.models == frozenset({"gpt-4o", "gpt-4o-mini", "claude-sonnet-4"})
    assert limits_.budget == Budget(Decimal("500"), "monthly", "org", "block")


def test_disabled_sections_do_not_bound_keys(organization):
    set_org_config(
        organization,
        {
            "rate_limiting": {"enabled": False, "rpm": 10},
            "budgets": {"enabled": False, "limit": 5},
            "ip_acl": {"enabled": False, "deny": ["10.0.0.0/8"]},
        },
    )
    policy = effective_policy(
        key_with(rate_limit_rpm=100, allowed_ips=["203.0.113.0/24"]),
        organization_limits(organization),
    )
    assert policy.rpm.value == 100 and policy.rpm.source == "key"
    assert policy.budgets == ()
    assert policy.org_ip_deny == () and policy.key_allowed_ips == ("203.0.113.0/24",)
    assert policy.models is None


def test_a_new_org_without_config_leaves_the_key_as_it_is(organization):
    policy = effective_policy(key_with(rate_limit_tpm=7), organization_limits(organization))
    assert policy.tpm.value == 7 and policy.rpm.value is None


def test_budget_periods_are_calendar_aligned_in_utc():
    now = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)  # a Thursday
    assert period_window("daily", now) == (
        datetime(2026, 12, 31, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert period_window("weekly", now) == (
        datetime(2026, 12, 28, tzinfo=UTC),
        datetime(2027, 1, 4, tzinfo=UTC),
    )
    assert period_window("monthly", now) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert period_window("monthly", datetime(2026, 2, 10, tzinfo=UTC))[1] == datetime(
        2026, 3, 1, tzinfo=UTC
    )
    assert period_window("total", now) == (None, None)


def test_key_budget_periods_match_the_org_config_periods():
    from keys.models import BudgetPeriod
    from orgs.config_schema import BudgetPeriod as ConfigBudgetPeriod

    assert BudgetPeriod.values == [period.value for period in ConfigBudgetPeriod]
