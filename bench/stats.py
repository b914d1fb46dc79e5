"""Pure helpers of the benchmarks: percentiles, ratios, load average."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` rounded to 3 places; None when either is missing or 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def rounded(value: float | None, places: int = 3) -> float | None:
    return None if value is None else round(value, places)


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages of this machine."""
    return [round(x, 2) for x in os.getloadavg()]


def per_item(total: float, count: int) -> float | None:
    return round(total / count, 2) if count else None
