"""A stand-in gateway: posts batches of request logs to a control plane over HTTP, the way a
gateway reports its traffic (`POST /v1/gateway/logs`), for load checks and benchmarks."""

import json
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


@dataclass(frozen=True)
class Delivery:
    rows: int
    accepted: int
    duplicates: int
    rejected: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def post_batch(base_url: str, token: str, rows: Sequence[dict], *, timeout: float = 60) -> dict:
    """One batch; the control plane's answer (`accepted`, `duplicates`, `rejected`)."""
    request = urllib.request.Request(  # noqa: S310 - the operator names the control plane
        f"{base_url.rstrip('/')}/v1/gateway/logs",
        data=json.dumps({"logs": list(rows)}, default=str).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.load(response)


def deliver(
    base_url: str, token: str, rows: Sequence[dict], *, batch: int = 1_000, clients: int = 2
) -> Delivery:
    """Post `rows` in batches of `batch`, `clients` batches at once, as several gateways do."""
    batches = [rows[start : start + batch] for start in range(0, len(rows), batch)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        answers = list(pool.map(lambda part: post_batch(base_url, token, part), batches))
    return Delivery(
        rows=len(rows),
        accepted=sum(answer["accepted"] for answer in answers),
        duplicates=sum(answer["duplicates"] for answer in answers),
        rejected=sum(len(answer["rejected"]) for answer in answers),
        seconds=time.perf_counter() - started,
    )
