"""``GET /api/payments/verify-checkout-session/``: where is the buyer of this session?

Answered from the database (and the enrollment's existence in the cluster), never by waiting for
Stripe: when the session's fate is still open, a poll may hand one Stripe re-read to the payment
worker, at most once per session every ``STRIPE_POLL_INTERVAL_SECONDS`` whatever the number of
polls or API processes (the claim is an atomic update of ``orders.stripe_checked_at``). That
re-read runs the same fulfilment as the webhook, so a late webhook never strands a buyer. The
states are in :mod:`apranova_api.payments.verify_states`. Never a login token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.metrics import STRIPE_CHECKS
from apranova_api.models import Enrollment, Order, Payment, User, utcnow
from apranova_api.payments import purchases
from apranova_api.payments.enrollment import is_terminating
from apranova_api.payments.fulfil import (
    fulfil_checkout_session,
    refund_duplicate,
    sync_enrollment,
)
from apranova_api.payments.gateway import SessionNotFoundError
from apranova_api.payments.parking import parked_reason
from apranova_api.payments.verify_states import (
    FINAL_STATES,
    Verification,
    VerifyFacts,
    VerifyState,
    answer,
    decide,
)
from apranova_api.services import Services

log = logging.getLogger(__name__)

UNKNOWN = Verification(404, {"detail": "unknown checkout session"})


@dataclass(frozen=True)
class PurchaseRef:
    """The purchase of a session: its student, the enrollment it concerns, whether it is a
    duplicate (and its refund)."""

    payment_id: int
    user: User
    enrollment_id: int
    enrollment_name: str
    track: str
    duplicate: bool
    refund_id: str | None


def read_facts(
    services: Services, session_id: str
) -> tuple[VerifyFacts, PurchaseRef | None] | None:
    """The database's facts about ``session_id`` and its purchase; ``None`` when unknown."""
    with services.sessions() as db:
        order = db.scalars(select(Order).where(Order.checkout_session_id == session_id)).first()
        row = db.execute(
            select(Payment, User, Enrollment)
            .outerjoin(User, User.id == Payment.user_id)
            .outerjoin(Enrollment, Enrollment.id == Payment.enrollment_id)
            .where(Payment.checkout_session_id == session_id)
            .limit(1)
        ).first()
        payment, user, enrollment = row if row is not None else (None, None, None)
        if order is None and payment is None:
            return None
        facts = VerifyFacts(
            order_status=order.status if order else None,
            failure_reason=order.failure_reason if order else None,
            parked_reason=parked_reason(db, session_id),
            paid=user is not None and enrollment is not None,
        )
        if user is None or enrollment is None or payment is None:
            return facts, None
        db.expunge(user)
        return facts, PurchaseRef(
            payment_id=payment.id,
            user=user,
            enrollment_id=enrollment.id,
            enrollment_name=enrollment.name,
            track=enrollment.track,
            duplicate=payment.grant == purchases.DUPLICATE,
            refund_id=payment.refund_id,
        )


def claim_stripe_check(services: Services, session_id: str) -> bool:
    """``True`` for the one caller allowed to ask Stripe about ``session_id`` now."""
    now = utcnow()
    cutoff = now - timedelta(seconds=services.settings.STRIPE_POLL_INTERVAL_SECONDS)
    with services.sessions.begin() as db:
        claimed = db.execute(
            update(Order)
            .where(
                Order.checkout_session_id == session_id,
                or_(Order.stripe_checked_at.is_(None), Order.stripe_checked_at < cutoff),
            )
            .values(stripe_checked_at=now)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def refresh_from_stripe(services: Services, session_id: str) -> None:
    """Re-read the session at Stripe and fulfil it when paid (in the payment worker)."""
    try:
        result = fulfil_checkout_session(services, session_id)
    except SessionNotFoundError:
        STRIPE_CHECKS.labels(result="unknown_session").inc()
        log.warning("verify: Stripe does not know checkout session %s", session_id)
        return
    STRIPE_CHECKS.labels(result=result.outcome).inc()


def _cached_enrollment(services: Services, name: str) -> dict[str, Any] | None:
    """The enrollment from the status cache once it has synced, so the success page's polls cost
    the API server nothing; None when the cache does not have it (yet)."""
    cache = services.status_cache
    view = cache.get(name) if cache.synced else None
    return dict(view.raw) if view is not None else None


def verify_checkout_session(services: Services, session_id: str) -> Verification:
    """The state of ``session_id`` (see :mod:`apranova_api.payments.verify_states`)."""
    found = read_facts(services, session_id)
    if found is None:
        return UNKNOWN
    facts, purchase = found
    if purchase is not None and facts.parked_reason is None:
        enrollment = _cached_enrollment(services, purchase.enrollment_name)
        if enrollment is None:
            try:
                enrollment = services.kube.get_enrollment(purchase.enrollment_name)
            except KubeUnavailableError:
                enrollment = None
        if enrollment is None or is_terminating(enrollment):
            services.worker.submit_in_background(
                "sync_enrollment",
                sync_enrollment,
                services,
                purchase.enrollment_id,
                key=f"sync:{purchase.enrollment_id}",
            )
        if purchase.duplicate and purchase.refund_id is None:
            services.worker.submit_in_background(
                "refund_duplicate",
                refund_duplicate,
                services,
                purchase.payment_id,
                key=f"refund:{purchase.payment_id}",
            )
        user = purchase.user
        student = {
            "email": user.email,
            "name": user.name,
            "username": user.username,
            "track": purchase.track,
            "enrollment": purchase.enrollment_name,
        }
        facts = VerifyFacts(
            order_status=facts.order_status,
            paid=True,
            enrollment=enrollment,
            student=student,
            duplicate=purchase.duplicate,
            refund_id=purchase.refund_id,
        )
    state = decide(facts)
    if state not in FINAL_STATES and not facts.paid and claim_stripe_check(services, session_id):
        services.worker.submit_in_background(
            "stripe_refresh", refresh_from_stripe, services, session_id, key=f"refresh:{session_id}"
        )
    return answer(state, facts)


__all__ = ["Verification", "VerifyState", "verify_checkout_session"]
