"""The pure parts of the benchmarks: percentiles, metric parsing, request verbs, the summary."""

from __future__ import annotations

import pytest

from bench.run import summary
from bench.stats import percentile, ratio
from tests.support.apiserver_proxy import request_verb
from tests.support.prometheus import metric_sum

METRICS = """# HELP apranova_operator_reconciles_total Runs.
# TYPE apranova_operator_reconciles_total counter
apranova_operator_reconciles_total{kind="full"} 12.0
apranova_operator_reconciles_total{kind="refresh"} 30.0
apranova_operator_finalizer_runs_total 4.0
apiserver_request_total{code="200",verb="LIST",resource="pods"} 7
apiserver_request_total{code="201",verb="POST",resource="events"} 5
"""


def test_percentiles_interpolate_and_handle_nothing() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([float(i) for i in range(101)], 95) == 95.0


def test_ratio_refuses_a_missing_or_zero_denominator() -> None:
    assert ratio(6.2, 5.7) == 1.088
    assert ratio(None, 5.0) is None
    assert ratio(1.0, 0.0) is None


def test_metric_sum_filters_by_labels() -> None:
    assert metric_sum(METRICS, "apranova_operator_reconciles_total", {"kind": "full"}) == 12
    assert metric_sum(METRICS, "apranova_operator_reconciles_total") == 42
    assert metric_sum(METRICS, "apranova_operator_finalizer_runs_total") == 4
    assert metric_sum(METRICS, "apiserver_request_total") == 12
    assert metric_sum(METRICS, "absent_total") == 0


@pytest.mark.parametrize(
    ("method", "path", "query", "verb"),
    [
        ("GET", "/api/v1/namespaces", {}, "LIST"),
        ("GET", "/api/v1/namespaces/student-ada", {}, "GET"),
        ("GET", "/api/v1/namespaces/student-ada/secrets", {"labelSelector": "a=b"}, "LIST"),
        ("GET", "/api/v1/namespaces/student-ada/secrets/x", {}, "GET"),
        ("GET", "/apis/apps/v1/deployments", {"watch": "true"}, "WATCH"),
        ("GET", "/apis/apranova.io/v1alpha1/studentenrollments/ada", {}, "GET"),
        ("GET", "/apis/apranova.io/v1alpha1/studentenrollments", {}, "LIST"),
        ("PATCH", "/apis/apps/v1/namespaces/s/deployments/code", {}, "PATCH"),
        ("POST", "/api/v1/namespaces/default/events", {}, "POST"),
    ],
)
def test_request_verbs_match_the_apiservers_names(
    method: str, path: str, query: dict[str, str], verb: str
) -> None:
    assert request_verb(method, path, query) == verb


def test_summary_has_every_key_of_the_issue() -> None:
    track = {
        "ready_p50_s": 6.0,
        "ready_p95_s": 7.0,
        "floor_p50_s": 5.0,
        "ready_to_floor_ratio": 1.2,
    }
    poll = {"polls_per_s": 2000.0, "poll_p50_ms": 5.0, "poll_p99_ms": 19.0}
    results = {
        "latency": {"per_track": 2, "fsd": track, "dp": track, "load_average": [1, 1, 1]},
        "burst": {
            "burst_n": 10,
            "burst_seconds": 30.0,
            "burst_per_s": 0.33,
            "floor_burst_seconds": 25.0,
            "burst_to_floor_ratio": 1.2,
            "operator_peak_rss_mib": 100.0,
            "apiserver_requests_per_enrollment": 60.0,
            "floor_requests_per_enrollment": 50.0,
            "objects_per_enrollment": 14,
            "reconciles_per_enrollment": 1.0,
            "events_per_enrollment": 3.0,
            "load_average": [1, 1, 1],
        },
        "idle": {
            "operator_rss_at_rest_mib": 90.0,
            "operator_rss_per_enrollment_kib": 40.0,
            "idle_reconciles_per_min": 0.0,
            "idle_seconds": 60.0,
            "load_average": [1, 1, 1],
        },
        "api": {
            "webhooks_per_s": 300.0,
            "polls": {"tools": {**poll, "poll_apiserver_requests": 0}},
            "load_average": [1, 1, 1],
        },
        "delete": {
            "delete_n": 12,
            "delete_seconds": 20.0,
            "orphans": 0,
            "finalizer_runs_per_deletion": 2.0,
            "load_average": [1, 1, 1],
        },
    }
    result = summary(results, "quick", 100.0)
    wanted = [
        "ready_p50_s",
        "ready_p95_s",
        "floor_p50_s",
        "ready_to_floor_ratio",
        "burst_n",
        "burst_seconds",
        "burst_per_s",
        "floor_burst_seconds",
        "burst_to_floor_ratio",
        "operator_peak_rss_mib",
        "operator_rss_per_enrollment_kib",
        "apiserver_requests_per_enrollment",
        "floor_requests_per_enrollment",
        "objects_per_enrollment",
        "reconciles_per_enrollment",
        "finalizer_runs_per_deletion",
        "idle_reconciles_per_min",
        "webhooks_per_s",
        "polls_per_s",
        "poll_p50_ms",
        "poll_p99_ms",
        "poll_apiserver_requests",
        "delete_n",
        "delete_seconds",
        "orphans",
        "load_average",
    ]
    assert set(wanted) <= result.keys()
    assert result["ready_p50_s"] == {"fsd": 6.0, "dp": 6.0}
    assert result["load_average"].keys() == results.keys()
