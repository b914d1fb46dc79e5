"""Reading Prometheus exposition text (the operator's and kube-apiserver's ``/metrics``)."""

from __future__ import annotations

import re
from collections.abc import Mapping

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)"
)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


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
