"""Realistic gateway traffic for the demo org and the benchmarks: rows as a gateway sends them.

Daily and weekly rhythms, four models on two providers with their list prices, cache hits,
fallbacks, rate-limit and provider errors (with one bad afternoon), and a slow tail of latencies.
Seeded, so the same call gives the same rows.
"""

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class ModelPrice:
    model: str
    provider: str
    # USD per million tokens
    input_price: Decimal
    output_price: Decimal
    # Typical latency (ms) of an answer
    latency_ms: int
    share: float


MODELS = (
    ModelPrice("gpt-4o", "openai-main", Decimal("2.50"), Decimal("10.00"), 1400, 0.30),
    ModelPrice("gpt-4o-mini", "openai-main", Decimal("0.15"), Decimal("0.60"), 700, 0.35),
    ModelPrice("claude-sonnet-4", "anthropic-main", Decimal("3.00"), Decimal("15.00"), 1800, 0.25),
    ModelPrice("claude-haiku-4", "anthropic-main", Decimal("0.80"), Decimal("4.00"), 600, 0.10),
)
FALLBACK_PROVIDER = {"openai-main": "anthropic-main", "anthropic-main": "openai-main"}


def request_cost(price: ModelPrice, input_tokens: int, output_tokens: int) -> Decimal:
    return (input_tokens * price.input_price + output_tokens * price.output_price) / 1_000_000


def traffic_rows(
    *,
    key_ids: Sequence[str],
    key_weights: Sequence[float],
    key_models: dict[str, Sequence[str]] | None = None,
    end: datetime,
    days: int = 30,
    per_day: int = 800,
    seed: int = 7,
    request_prefix: str = "demo",
) -> Iterator[dict]:
    """About `per_day` requests a day for `days` days up to `end`, oldest first. `key_models`
    limits a key to some models (as its allowed models would)."""
    rng = random.Random(seed)
    start = (end - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    bad_hour = start + timedelta(days=days // 2, hours=14)
    users = [f"user-{n:03d}" for n in range(1, 41)]
    number = 0
    hour = start
    while hour < end:
        # Busy in the (UTC) working day, quiet at night, lighter at weekends.
        daylight = 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour.hour - 6) / 14))
        weekday = 0.45 if hour.weekday() >= 5 else 1.0
        expected = per_day / 24 * daylight * weekday * 2.25
        count = max(0, int(rng.gauss(expected, math.sqrt(expected) or 1)))
        trouble = bad_hour <= hour < bad_hour + timedelta(hours=3)
        for _ in range(count):
            started_at = hour + timedelta(seconds=rng.uniform(0, 3600))
            if started_at >= end:
                continue
            number += 1
            key_id = rng.choices(key_ids, weights=key_weights)[0]
            allowed = (key_models or {}).get(key_id)
            models = [m for m in MODELS if not allowed or m.model in allowed]
            price = rng.choices(models, weights=[m.share for m in models])[0]
            input_tokens = int(rng.lognormvariate(6.5, 0.9))
            output_tokens = int(rng.lognormvariate(5.3, 0.8))
            cache_hit = rng.random() < 0.12
            roll = rng.random()
            if trouble and roll < 0.35:
                status, error = 503, "provider unavailable: upstream returned 503"
            elif roll < 0.015:
                status, error = 429, "rate limited: per-key requests per minute exceeded"
            elif roll < 0.022:
                status, error = 500, "provider error: internal server error"
            elif roll < 0.025:
                status, error = 0, "timeout: no provider answered within 60 s"
            else:
                status, error = 200, ""
            fallback = status == 200 and rng.random() < (0.4 if trouble else 0.02)
            provider = FALLBACK_PROVIDER[price.provider] if fallback else price.provider
            if cache_hit and status == 200:
                latency, ttft, cost = int(rng.uniform(3, 25)), None, Decimal(0)
            else:
                latency = int(rng.lognormvariate(math.log(price.latency_ms), 0.45))
                if rng.random() < 0.02:  # the slow tail
                    latency *= rng.randint(4, 20)
                if status == 0:
                    latency = 60_000
                ttft = int(latency * rng.uniform(0.15, 0.4)) if status == 200 else None
                cost = request_cost(price, input_tokens, output_tokens) if status == 200 else 0
                if status != 200:
                    output_tokens = 0
            user = rng.choice(users) if rng.random() < 0.8 else ""
            yield {
                "request_id": f"{request_prefix}-{number:07d}",
                "key_id": key_id,
                "model": price.model,
                "provider": provider,
                "status_code": status,
                "latency_ms": min(latency, 3_600_000),
                "ttft_ms": ttft,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cached_tokens": input_tokens if cache_hit else 0,
                "cost": float(round(Decimal(cost), 10)),
                "cache_hit": cache_hit and status == 200,
                "fallback_used": fallback,
                "started_at": started_at.isoformat(),
                "user": user,
                "session_id": f"sess-{user}-{started_at:%Y%m%d}" if user else "",
                "error": error,
                "metadata": {"feature": rng.choice(["chat", "search", "summarize", "agent"])},
            }
        hour += timedelta(hours=1)
