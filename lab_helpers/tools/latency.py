"""What a run of requests comes to: percentiles, and the summaries of one client's and of many users' runs."""
from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from typing import Any

from .load import Outcome


def percentile(values: Iterable[float], pct: float) -> float | None:
    """The `pct` percentile (0-100) by linear interpolation between the closest ranks; None when empty."""
    data = sorted(values)
    if not data:
        return None
    rank = (len(data) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def rounded_ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def latency_summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """Sequential requests of one client: count, failures, and p50/p95/mean/max of the successful ones (ms)."""
    ok = [o.ms for o in outcomes if o.failure is None]
    return {"requests": len(outcomes), "failures": len(outcomes) - len(ok),
            "failure_kinds": dict(Counter(o.failure for o in outcomes if o.failure)),
            "p50_ms": rounded_ms(percentile(ok, 50)), "p95_ms": rounded_ms(percentile(ok, 95)),
            "mean_ms": rounded_ms(statistics.fmean(ok) if ok else None), "max_ms": rounded_ms(max(ok, default=None))}


def load_summary(outcomes: list[Outcome], users: int, elapsed_s: float) -> dict[str, Any]:
    """A concurrent run: requests, failures by kind, p50/p95 of the successful ones (ms), requests/s."""
    summary = latency_summary(outcomes)
    summary.pop("mean_ms")
    return {"users": users, "seconds": round(elapsed_s, 1), **summary,
            "rps": round(len(outcomes) / elapsed_s, 1) if elapsed_s > 0 else 0.0}
