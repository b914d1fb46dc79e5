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
from dataclasses import dataclass
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
    PAYMENT_DISPUTED,
    PAYMENT_REFUNDED,
    SUSPENDED,
    AuditLog,
    ChargeAction,
    Order,
    Payment,
    ProcessedEvent,
    User,
)
from apranova_api.payments.fulfil import EventRef, fulfil_checkout_session, sync_enrollment
from apranova_api.payments.gateway import GatewayUnavailableError, SessionNotFoundError
from apranova_api.payments.notices import enqueue_payment_failed_notice
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


@dataclass(frozen=True)
class ChargeOutcome:
    """What a refund or dispute means for the payment (pure decision)."""

    payment_status: str
    reason: str
    suspend: bool


def charge_outcome(event_type: str, obj: dict[str, Any]) -> ChargeOutcome:
    """How a ``charge.refunded`` or ``charge.dispute.created`` affects the enrollment.

    A partial refund is recorded but does not suspend; a full refund or any dispute does.
    """
    if event_type == "charge.dispute.created":
        return ChargeOutcome(PAYMENT_DISPUTED, f"dispute: {obj.get('reason') or 'unknown'}", True)
    amount = int(obj.get("amount") or 0)
    refunded = int(obj.get("amount_refunded") or 0)
    full = bool(obj.get("refunded")) or (amount > 0 and refunded >= amount)
    return ChargeOutcome(PAYMENT_REFUNDED if full else "PARTIALLY_REFUNDED", "refunded", full)


def _mark_processed(db: Session, event: EventRef) -> bool:
    """Record the event; ``False`` when it was already processed."""
    if db.get(ProcessedEvent, event.id) is not None:
        return False
    db.add(ProcessedEvent(id=event.id, type=event.type))
    db.flush()
    return True


def record_charge_event(
    db: Session, event: EventRef, payment_intent_id: str, outcome: ChargeOutcome
) -> int | None:
    """Apply a refund or dispute; returns the affected user id (to sync its enrollment)."""
    payment = db.scalars(
        select(Payment).where(Payment.payment_intent_id == payment_intent_id)
    ).first()
    if not _mark_processed(db, event):
        return payment.user_id if payment else None
    if payment is None:
        if outcome.suspend and db.get(ChargeAction, payment_intent_id) is None:
            db.add(
                ChargeAction(
                    payment_intent_id=payment_intent_id,
                    payment_status=outcome.payment_status,
                    reason=outcome.reason,
                )
            )
        db.add(
            AuditLog(
                action="charge_event_before_fulfilment",
                details={"event": event.type, "payment_intent_id": payment_intent_id},
            )
        )
        return None
    payment.status = outcome.payment_status
    user = db.get(User, payment.user_id) if payment.user_id else None
    if user is not None and outcome.suspend:
        user.enrollment_status = SUSPENDED
        user.suspension_reason = outcome.reason
    db.add(
        AuditLog(
            user_id=payment.user_id,
            action="enrollment_suspended" if outcome.suspend else "payment_partially_refunded",
            details={
                "event": event.type,
                "reason": outcome.reason,
                "payment_intent_id": payment_intent_id,
            },
        )
    )
    return user.id if user is not None else None


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
        if ref.type in ("charge.refunded", "charge.dispute.created"):
            intent = obj.get("payment_intent")
            if not isinstance(intent, str) or not intent:
                return WebhookAnswer(200, "ignored_no_payment_intent")
            outcome = charge_outcome(ref.type, obj)
            user_id = run_in_transaction(
                services.sessions, lambda db: record_charge_event(db, ref, intent, outcome)
            )
            if user_id is not None:
                sync_enrollment(services, user_id)
            return WebhookAnswer(200, "suspended" if outcome.suspend else "recorded")
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
