"""The API's Prometheus metrics (payments and enrollment repair)."""

from __future__ import annotations

from prometheus_client import Counter

CHECKOUT_SESSIONS = Counter(
    "apranova_checkout_sessions_created_total", "Checkout sessions created", ["track"]
)
WEBHOOK_DELIVERIES = Counter(
    "apranova_webhook_deliveries_total",
    "Webhook deliveries by event type and outcome",
    ["type", "outcome"],
)
FULFILMENTS = Counter("apranova_fulfilments_total", "Fulfilment attempts by outcome", ["outcome"])
ENROLLMENT_SYNCS = Counter(
    "apranova_enrollment_syncs_total", "StudentEnrollment syncs by result", ["result"]
)
REPAIR_RUNS = Counter("apranova_enrollment_repair_runs_total", "Repair loop passes", ["result"])
