"""Pure helpers of the benchmarks: percentiles, ratios, Prometheus text, load average."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)"
)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


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


def metric_sum(text: str, name: str, where: Mapping[str, str] | None = None) -> float:
    """The sum of every sample of metric ``name`` in Prometheus exposition ``text`` whose labels
    include ``where``."""
    total = 0.0
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or match["name"] != name:
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        if all(labels.get(k) == v for k, v in (where or {}).items()):
            total += float(match["value"])
    return total


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages of this machine."""
    return [round(x, 2) for x in os.getloadavg()]


def per_item(total: float, count: int) -> float | None:
    return round(total / count, 2) if count else None


def first_at_or_after(times: Iterable[float], start: float) -> list[float]:
    """Seconds from ``start`` of every time, sorted (for burst progress curves)."""
    return sorted(t - start for t in times)
