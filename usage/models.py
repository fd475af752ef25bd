"""Request logs (one row per request the gateway served) and the usage rollups built from them.

Organization leads every key and every index, so each org's rows sit together and the tables can
be distributed by `organization_id` (Citus) without a change of schema. On PostgreSQL
`RequestLog` is range-partitioned by month on `started_at` (see migrations/0001_initial.py and
usage/partitions.py); on SQLite it is one plain table.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

# Upper bounds (ms, inclusive) of the fixed latency histogram kept in the hourly rollup; the last
# bucket holds everything slower. p50/p95 of any range are read from the summed buckets.
LATENCY_BUCKET_BOUNDS_MS = (
    50,
    100,
    200,
    300,
    500,
    750,
    1_000,
    1_500,
    2_000,
    3_000,
    5_000,
    7_500,
    10_000,
    20_000,
    30_000,
)
LATENCY_BUCKETS = len(LATENCY_BUCKET_BOUNDS_MS) + 1
LATENCY_BUCKET_FIELDS = tuple(f"latency_bucket_{index:02d}" for index in range(LATENCY_BUCKETS))


def latency_bucket(latency_ms: int) -> int:
    """The index of the histogram bucket a latency falls in."""
    for index, bound in enumerate(LATENCY_BUCKET_BOUNDS_MS):
        if latency_ms <= bound:
            return index
    return LATENCY_BUCKETS - 1


def is_error_status(status_code: int) -> bool:
    """4xx and 5xx answers are errors; so is 0 (no answer from any provider)."""
    return status_code >= 400 or status_code < 100


# Cost in USD: a cheap request costs millionths of a dollar.
COST_DIGITS = {"max_digits": 20, "decimal_places": 10}


class RequestLog(models.Model):
    """One request the gateway served. No prompt or response bodies are ever stored.

    Idempotent on `(organization, request_id, started_at)`: a gateway retrying a batch sends the
    same rows, with the same `started_at`, and the retry is a no-op. (`started_at` is part of the
    key because every unique index of a partitioned table must hold the partition key.)
    """

    # Deleting an org deletes its logs in one DELETE per table: nothing points at a log and no
    # signal listens, so Django never loads the rows it cascades to.
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+"
    )
    # Keys are revoked, never deleted, so a log keeps its key.
    key = models.ForeignKey("keys.VirtualKey", on_delete=models.CASCADE, related_name="+")
    request_id = models.CharField(max_length=128)
    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    latency_ms = models.PositiveIntegerField()
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(default=0, **COST_DIGITS)
    cache_hit = models.BooleanField(default=False)
    fallback_used = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    # The gateway's end user (the `user` of the request), not an account of this dashboard.
    end_user = models.CharField(max_length=200, blank=True)
    session_id = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # At most METADATA_MAX_KEYS short string/number/bool values (usage/services.py checks).
    metadata = models.JSONField(default=dict, blank=True)
    ingested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The logs page, newest first, and every filter below: organization, then the filter,
            # then time, so a filtered page is one index range scan.
            models.Index(fields=["organization", "-started_at", "-id"], name="reqlog_org_newest"),
            models.Index(
                fields=["organization", "key", "-started_at"], name="reqlog_org_key_newest"
            ),
            models.Index(
                fields=["organization", "model", "-started_at"], name="reqlog_org_model_newest"
            ),
            models.Index(
                fields=["organization", "status_code", "-started_at"],
                name="reqlog_org_status_newest",
            ),
            models.Index(
                fields=["organization", "end_user", "-started_at"],
                name="reqlog_org_user_newest",
                condition=~Q(end_user=""),
            ),
            models.Index(
                fields=["organization", "session_id", "-started_at"],
                name="reqlog_org_session_newest",
                condition=~Q(session_id=""),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "request_id", "started_at"], name="reqlog_org_request_once"
            ),
        ]

    def __str__(self):
        return f"{self.request_id} ({self.model}, {self.status_code})"

    @property
    def is_error(self) -> bool:
        return is_error_status(self.status_code)


class UsageCounters(models.Model):
    """The counters every rollup holds; each is a plain sum, so batches add up in one upsert."""

    requests = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cached_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(default=0, **COST_DIGITS)
    latency_sum_ms = models.PositiveBigIntegerField(default=0)
    cache_hits = models.PositiveBigIntegerField(default=0)
    fallbacks = models.PositiveBigIntegerField(default=0)

    class Meta:
        abstract = True


COUNTER_FIELDS = (
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cost",
    "latency_sum_ms",
    "cache_hits",
    "fallbacks",
)


def _latency_buckets(cls):
    for name in LATENCY_BUCKET_FIELDS:
        cls.add_to_class(name, models.PositiveBigIntegerField(default=0))
    return cls


class HourlyRollup(UsageCounters):
    """org × model × provider × hour (UTC): charts and KPIs; hourly, so any time zone's days can
    be built from it. The latency histogram (`latency_bucket_00`…`15`, bounds in
    LATENCY_BUCKET_BOUNDS_MS) gives p50/p95 without the raw logs."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+"
    )
    hour = models.DateTimeField()
    model = models.CharField(max_length=200)
    provider = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "hour", "model", "provider"], name="hourly_rollup_once"
            ),
        ]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H:00} {self.model} via {self.provider}"


_latency_buckets(HourlyRollup)


class KeyDayRollup(UsageCounters):
    """org × key × day (UTC): per-key figures, key and org budgets, the top keys."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+"
    )
    key = models.ForeignKey("keys.VirtualKey", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "key", "day"], name="key_day_once"),
        ]
        indexes = [models.Index(fields=["organization", "day"], name="key_day_org_day")]

    def __str__(self):
        return f"{self.day} key {self.key_id}"


class UserDayRollup(UsageCounters):
    """org × end user × day (UTC): the breakdown by the gateway's end users ("" = none given)."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+"
    )
    end_user = models.CharField(max_length=200, blank=True)
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "end_user", "day"], name="user_day_once"
            ),
        ]
        indexes = [models.Index(fields=["organization", "day"], name="user_day_org_day")]

    def __str__(self):
        return f"{self.day} {self.end_user or '(no user)'}"


class BudgetAlert(models.Model):
    """A budget threshold crossed in one period: the org's budget (no key) or one key's.

    One row per (org, key, period start, threshold), whoever crossed it first: batches ingested
    at once insert the same row and all but one insert nothing, so each threshold is emailed
    once per period. Two partial constraints, since NULL keys never conflict in a plain one.
    """

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+"
    )
    key = models.ForeignKey(
        "keys.VirtualKey", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    period = models.CharField(max_length=10)
    # "total" budgets have one period for all time: it starts at BUDGET_TOTAL_START, never ends.
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(null=True, blank=True)
    # A fraction of the limit: 0.5, 0.8, 1.0.
    threshold = models.DecimalField(max_digits=4, decimal_places=3)
    spend = models.DecimalField(**COST_DIGITS)
    limit = models.DecimalField(max_digits=20, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start", "threshold"],
                condition=Q(key__isnull=True),
                name="budget_alert_org_once",
            ),
            models.UniqueConstraint(
                fields=["organization", "key", "period_start", "threshold"],
                condition=Q(key__isnull=False),
                name="budget_alert_key_once",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="budget_alert_newest")
        ]

    def __str__(self):
        return f"{self.percent}% of {self.limit} ({self.period})"

    @property
    def percent(self) -> int:
        return round(self.threshold * 100)
