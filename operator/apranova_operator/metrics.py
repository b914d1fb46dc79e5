"""Prometheus metrics of the operator.

Enrollments by phase come from a small map of name to phase (one short string per enrollment,
removed when the enrollment is gone), read at scrape time.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from apranova_contract.status import PHASES

RECONCILE_DURATION = Histogram(
    "apranova_operator_reconcile_duration_seconds",
    "Duration of one reconcile step of one enrollment.",
    ["step"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RECONCILE_ERRORS = Counter(
    "apranova_operator_reconcile_errors_total",
    "Reconciles that failed or found bad input, by reason.",
    ["reason"],
)
TIME_TO_READY = Histogram(
    "apranova_operator_time_to_ready_seconds",
    "From the enrollment's creation to its first Ready.",
    buckets=(5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600),
)


class PhaseCollector(Collector):
    """``apranova_operator_enrollments{phase}``: how many enrollments are in each phase."""

    def __init__(self) -> None:
        self.phases: dict[str, str] = {}

    def set(self, name: str, phase: str) -> None:
        self.phases[name] = phase

    def forget(self, name: str) -> None:
        self.phases.pop(name, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "apranova_operator_enrollments", "Enrollments handled, by phase.", labels=["phase"]
        )
        counts = Tally(self.phases.values())
        for phase in PHASES:
            family.add_metric([phase], counts.get(phase, 0))
        yield family


ENROLLMENT_PHASES = PhaseCollector()
REGISTRY.register(ENROLLMENT_PHASES)


def serve(port: int, host: str) -> None:
    """Expose ``/metrics`` (a no-op when ``port`` is 0)."""
    if port:
        start_http_server(port, addr=host)
