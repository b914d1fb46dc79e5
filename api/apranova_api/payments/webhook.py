"""The Stripe webhook: verify, then dispatch by event type.

Answers (HTTP status, outcome). 400: refused, nothing written. 503: a dependency (Stripe, the
cluster) is down or slow, so Stripe delivers again later; rows already committed stay, and the
retry (or the repair loop) finishes the job. 200: handled, duplicate, ignored, or parked (a
permanent failure: retrying cannot help, see :mod:`apranova_api.payments.parking`).
The route runs :func:`handle_delivery` in the payment worker and waits for it at most
``REQUEST_DEADLINE_SECONDS`` (:mod:`apranova_api.payments.worker`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.metrics import WEBHOOK_DELIVERIES
from apranova_api.models import (
    ORDER_EXPIRED,
    ORDER_FAILED,
    ORDER_OPEN,
    ORDER_PROCESSING,
    AuditLog,
    Enrollment,
    Order,
    Payment,
    ProcessedEvent,
)
from apranova_api.payments import purchases
from apranova_api.payments.fulfil import EventRef, fulfil_checkout_session, sync_enrollment
from apranova_api.payments.gateway import (
    ChargeNotFoundError,
    GatewayRejectedError,
    GatewayUnavailableError,
    SessionNotFoundError,
)
from apranova_api.payments.notices import enqueue_payment_failed_notice
from apranova_api.payments.purchase_store import (
    refresh_enrollment,
    refresh_payment,
    save_charge,
    save_dispute,
)
from apranova_api.payments.purchases import ChargeFacts, DisputeFacts
from apranova_api.payments.signature import InvalidWebhookError, verify_event
from apranova_api.payments.transactions import run_in_transaction
from apranova_api.services import Services

FULFIL_EVENTS = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookAnswer:
    """The HTTP status and a short outcome for the response body and the metrics."""

    status: int
    outcome: str


def _mark_processed(db: Session, event: EventRef) -> bool:
    """Record the event; ``False`` when it was already processed."""
    if db.get(ProcessedEvent, event.id) is not None:
        return False
    db.add(ProcessedEvent(id=event.id, type=event.type))
    db.flush()
    return True


def record_purchase_state(
    db: Session, event: EventRef, charge: ChargeFacts, dispute: DisputeFacts | None
) -> tuple[int | None, str]:
    """Store what Stripe says now about a charge (and its dispute) and apply it to the purchase.

    Returns the enrollment to sync (``None`` when the purchase is not fulfilled yet: the state
    is kept and applied at fulfilment) and the payment's status. Safe to repeat: it always
    starts from the latest state, so a redelivered or older event changes nothing.
    """
    _mark_processed(db, event)
    save_charge(db, charge)
    if dispute is not None:
        save_dispute(
            db,
            replace(
                dispute, payment_intent_id=dispute.payment_intent_id or charge.payment_intent_id
            ),
        )
    db.flush()
    payment = (
        db.scalars(
            select(Payment).where(Payment.payment_intent_id == charge.payment_intent_id)
        ).first()
        if charge.payment_intent_id
        else None
    )
    if payment is None:
        db.add(
            AuditLog(
                action="charge_event_before_fulfilment",
                details={
                    "event": event.type,
                    "charge": charge.id,
                    "payment_intent_id": charge.payment_intent_id,
                },
            )
        )
        return None, "recorded_before_fulfilment"
    before = payment.status
    status = refresh_payment(db, payment)
    if status != before:
        db.add(
            AuditLog(
                user_id=payment.user_id,
                action="payment_status_changed",
                details={
                    "event": event.type,
                    "payment_intent_id": payment.payment_intent_id,
                    "from": before,
                    "to": status,
                },
            )
        )
    db.flush()
    enrollment = db.get(Enrollment, payment.enrollment_id) if payment.enrollment_id else None
    if enrollment is None:
        return None, status
    refresh_enrollment(db, enrollment)
    return enrollment.id, status


def handle_purchase_event(services: Services, ref: EventRef, obj: dict[str, Any]) -> WebhookAnswer:
    """A refund, dispute or charge event: re-read the charge (and dispute) and apply it."""
    reference = purchases.charge_reference(ref.type, obj)
    if reference is None:
        return WebhookAnswer(200, "ignored_no_charge")
    try:
        charge = services.gateway.retrieve_charge(reference.charge_id)
        dispute = (
            services.gateway.retrieve_dispute(reference.dispute_id)
            if reference.dispute_id
            else None
        )
    except ChargeNotFoundError:
        log.warning("event %s names a charge or dispute Stripe does not know", ref.id)
        return WebhookAnswer(200, "unknown_charge")
    except GatewayRejectedError as error:
        log.warning("event %s: Stripe refuses to show its charge for good: %s", ref.id, error)
        return WebhookAnswer(200, "charge_refused")
    enrollment_id, status = run_in_transaction(
        services.sessions, lambda db: record_purchase_state(db, ref, charge, dispute)
    )
    if enrollment_id is not None:
        sync_enrollment(services, enrollment_id)
    return WebhookAnswer(200, status.lower())


ASYNC_FAILURE_REASON = "your bank did not complete the payment"


def record_async_failure(db: Session, event: EventRef, session: dict[str, Any]) -> None:
    """Mark the order of a checkout whose delayed payment failed; email the buyer.

    The event's session is signed by Stripe, so its ``customer_details`` address is the
    buyer's; no Stripe call is needed.
    """
    if not _mark_processed(db, event):
        return
    order = db.get(Order, session.get("client_reference_id") or "")
    if order is not None and order.status in (ORDER_OPEN, ORDER_PROCESSING):
        order.status = ORDER_FAILED
        order.failure_reason = ASYNC_FAILURE_REASON
    details = session.get("customer_details") or {}
    email = details.get("email") or session.get("customer_email")
    if email:
        track = str((session.get("metadata") or {}).get("track") or "")
        enqueue_payment_failed_notice(
            db, str(email), str(details.get("name") or ""), track, ASYNC_FAILURE_REASON
        )
    db.add(
        AuditLog(
            action="async_payment_failed",
            details={
                "checkout_session_id": session.get("id"),
                "order": order.id if order else None,
            },
        )
    )


def record_expiry(db: Session, event: EventRef, session: dict[str, Any]) -> None:
    """Mark the order of a checkout session that expired unpaid."""
    if not _mark_processed(db, event):
        return
    order = db.get(Order, session.get("client_reference_id") or "")
    if order is not None and order.status in (ORDER_OPEN, ORDER_PROCESSING):
        order.status = ORDER_EXPIRED


def handle_event(services: Services, event: dict[str, Any]) -> WebhookAnswer:
    """Handle one verified event."""
    ref = EventRef(id=event["id"], type=event["type"])
    obj = event["data"]["object"]
    try:
        if ref.type in FULFIL_EVENTS:
            result = fulfil_checkout_session(services, str(obj.get("id")), ref)
            return WebhookAnswer(200, result.outcome)
        if ref.type == "checkout.session.async_payment_failed":
            run_in_transaction(services.sessions, lambda db: record_async_failure(db, ref, obj))
            return WebhookAnswer(200, "order_failed")
        if ref.type == "checkout.session.expired":
            run_in_transaction(services.sessions, lambda db: record_expiry(db, ref, obj))
            return WebhookAnswer(200, "order_expired")
        if ref.type in purchases.PURCHASE_EVENTS:
            return handle_purchase_event(services, ref, obj)
    except SessionNotFoundError:
        log.warning("event %s names an unknown checkout session", ref.id)
        return WebhookAnswer(200, "unknown_session")
    except (GatewayUnavailableError, KubeUnavailableError) as error:
        log.warning("event %s must be retried: %s", ref.id, error)
        return WebhookAnswer(503, "retry_later")
    return WebhookAnswer(200, "ignored")


def handle_delivery(services: Services, payload: bytes, signature: str | None) -> WebhookAnswer:
    """Verify a raw delivery and handle it."""
    try:
        event = verify_event(
            payload,
            signature,
            services.webhook_secret,
            services.settings.WEBHOOK_TOLERANCE_SECONDS,
        )
    except InvalidWebhookError as error:
        log.warning("webhook delivery refused: %s", error)
        WEBHOOK_DELIVERIES.labels(type="unverified", outcome="refused").inc()
        return WebhookAnswer(400, str(error))
    answer = handle_event(services, event)
    WEBHOOK_DELIVERIES.labels(type=event["type"], outcome=answer.outcome).inc()
    return answer
