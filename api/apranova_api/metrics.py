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
PARKED_FULFILMENTS = Counter(
    "apranova_parked_fulfilments_total",
    "Paid checkouts parked by a permanent failure, by source (validation, stripe, cluster)",
    ["source"],
)
STRIPE_CHECKS = Counter(
    "apranova_verify_stripe_checks_total", "Stripe re-reads started by verify polls", ["result"]
)
PAYMENT_WORK = Counter(
    "apranova_payment_work_total",
    "Payment work run off the request threads, by kind and result",
    ["kind", "result"],
)
