"""``GET /api/payments/verify-checkout-session/``: is the student's enrollment there yet?

Completes a fulfilment whose webhook is late (the same function the webhook calls). Answers
plain data; never a login token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.models import Enrollment, Order, Payment, User
from apranova_api.payments import purchases
from apranova_api.payments.enrollment import is_terminating
from apranova_api.payments.fulfil import (
    fulfil_checkout_session,
    refund_duplicate,
    sync_enrollment,
)
from apranova_api.payments.gateway import GatewayUnavailableError, SessionNotFoundError
from apranova_api.services import Services
from apranova_contract.status import PENDING as PENDING_PHASE
from apranova_contract.status import enrollment_view


@dataclass(frozen=True)
class Verification:
    """HTTP status and body."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


PENDING = Verification(202, {"status": "pending", "retryAfterSeconds": 3})
ENROLLED = "enrolled"
REFUNDED_DUPLICATE = "refunded_duplicate"


@dataclass(frozen=True)
class Purchase:
    """The rows verify answers from: the payment, its student and its enrollment (detached)."""

    user: User
    enrollment: Enrollment
    duplicate: bool
    refund_id: str | None
    payment_id: int


def ready_body(purchase: Purchase, enrollment: dict[str, Any]) -> dict[str, Any]:
    """The 200 body from the purchase and its enrollment object (pure).

    ``status`` is ``enrolled``, or ``refunded_duplicate`` when the student already held the
    track and this payment went back (``refundId``).
    """
    view = enrollment_view(enrollment)
    user = purchase.user
    body = {
        "status": REFUNDED_DUPLICATE if purchase.duplicate else ENROLLED,
        "email": user.email,
        "name": user.name,
        "username": user.username,
        "track": purchase.enrollment.track,
        "enrollment": purchase.enrollment.name,
        "phase": view.phase or PENDING_PHASE,
        "discordInvite": view.discord_invite,
    }
    if purchase.duplicate:
        body["refundId"] = purchase.refund_id
    return body


def _known_session(services: Services, session_id: str) -> bool:
    with services.sessions() as db:
        if db.scalars(select(Order.id).where(Order.checkout_session_id == session_id)).first():
            return True
        return (
            db.scalars(select(Payment.id).where(Payment.checkout_session_id == session_id)).first()
            is not None
        )


def _purchase(services: Services, session_id: str) -> Purchase | None:
    with services.sessions() as db:
        payment = db.scalars(
            select(Payment).where(Payment.checkout_session_id == session_id)
        ).first()
        if payment is None or payment.user_id is None or payment.enrollment_id is None:
            return None
        user = db.get(User, payment.user_id)
        enrollment = db.get(Enrollment, payment.enrollment_id)
        if user is None or enrollment is None:
            return None
        return Purchase(
            user=user,
            enrollment=enrollment,
            duplicate=payment.grant == purchases.DUPLICATE,
            refund_id=payment.refund_id,
            payment_id=payment.id,
        )


def _live_enrollment(services: Services, purchase: Purchase) -> dict[str, Any] | None:
    """The purchase's StudentEnrollment once it exists and is not being deleted."""
    name = purchase.enrollment.name
    found = services.kube.get_enrollment(name)
    if found is None or is_terminating(found):
        sync_enrollment(services, purchase.enrollment.id)
        found = services.kube.get_enrollment(name)
    if found is None or is_terminating(found):
        return None
    return found


def verify_checkout_session(services: Services, session_id: str) -> Verification:
    """202 until this purchase's enrollment exists and is not Terminating (and a duplicate's
    refund is made); then 200; 404 for a session we never created."""
    if not _known_session(services, session_id):
        return Verification(404, {"detail": "unknown checkout session"})
    try:
        purchase = _purchase(services, session_id)
        if purchase is None:
            result = fulfil_checkout_session(services, session_id)
            if result.outcome == "rejected":
                return Verification(409, {"detail": "payment cannot be fulfilled; contact support"})
            purchase = _purchase(services, session_id)
        if purchase is None:
            return PENDING
        if purchase.duplicate and purchase.refund_id is None:
            if refund_duplicate(services, purchase.payment_id) is None:
                return PENDING
            purchase = _purchase(services, session_id)
            assert purchase is not None
        enrollment = _live_enrollment(services, purchase)
        if enrollment is None:
            return PENDING
    except SessionNotFoundError:
        return Verification(404, {"detail": "unknown checkout session"})
    except (GatewayUnavailableError, KubeUnavailableError):
        return PENDING
    return Verification(200, ready_body(purchase, enrollment))
