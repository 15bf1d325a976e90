"""Percentiles and rates: the only arithmetic the stages share."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) by the nearest-rank method: a value that was
    actually observed (p99 of 20 samples is the largest, not an interpolation)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def latency_summary(ms: Sequence[float]) -> dict[str, Any]:
    """p50/p99/max and the sample count, in milliseconds."""
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else 0.0,
    }


def ratio(value: float, ceiling: float) -> float | None:
    """value / ceiling, None when the ceiling was not measured."""
    return round(value / ceiling, 3) if ceiling else None
