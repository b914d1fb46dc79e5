"""``GET /api/payments/verify-checkout-session/``: is the student's enrollment there yet?

Completes a fulfilment whose webhook is late (the same function the webhook calls). Answers
plain data; never a login token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.models import Order, Payment, User
from apranova_api.payments.fulfil import fulfil_checkout_session, sync_enrollment
from apranova_api.payments.gateway import GatewayUnavailableError, SessionNotFoundError
from apranova_api.services import Services
from apranova_contract.names import enrollment_name
from apranova_contract.status import PENDING as PENDING_PHASE
from apranova_contract.status import enrollment_view


@dataclass(frozen=True)
class Verification:
    """HTTP status and body."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


PENDING = Verification(202, {"status": "pending", "retryAfterSeconds": 3})


def ready_body(user: User, enrollment: dict[str, Any]) -> dict[str, Any]:
    """The 200 body from the user and the enrollment object (pure)."""
    view = enrollment_view(enrollment)
    return {
        "status": "enrolled",
        "email": user.email,
        "name": user.name,
        "username": user.username,
        "track": user.track,
        "phase": view.phase or PENDING_PHASE,
        "discordInvite": view.discord_invite,
    }


def _known_session(services: Services, session_id: str) -> bool:
    with services.sessions() as db:
        if db.scalars(select(Order.id).where(Order.checkout_session_id == session_id)).first():
            return True
        return (
            db.scalars(select(Payment.id).where(Payment.checkout_session_id == session_id)).first()
            is not None
        )


def _user_for_session(services: Services, session_id: str) -> User | None:
    with services.sessions() as db:
        payment = db.scalars(
            select(Payment).where(Payment.checkout_session_id == session_id)
        ).first()
        if payment is None or payment.user_id is None:
            return None
        return db.get(User, payment.user_id)


def verify_checkout_session(services: Services, session_id: str) -> Verification:
    """202 while fulfilment or the enrollment is on its way; 200 once both exist; 404.

    The enrollment comes from the status cache once it has synced, so the success page's polls
    cost the API server nothing; the API server is asked only when the cache does not have it.
    """
    if not _known_session(services, session_id):
        return Verification(404, {"detail": "unknown checkout session"})
    user = _user_for_session(services, session_id)
    try:
        if user is None:
            result = fulfil_checkout_session(services, session_id)
            if result.outcome == "rejected":
                return Verification(409, {"detail": "payment cannot be fulfilled; contact support"})
            user = _user_for_session(services, session_id)
            if user is None:
                return PENDING
        name = enrollment_name(user.username)
        cache = services.status_cache
        view = cache.get(name) if cache.synced else None
        enrollment: Mapping[str, Any] | None = view.raw if view is not None else None
        if enrollment is None:
            enrollment = services.kube.get_enrollment(name)
        if enrollment is None:
            sync_enrollment(services, user.id)
            enrollment = services.kube.get_enrollment(name)
        if enrollment is None:
            return PENDING
    except SessionNotFoundError:
        return Verification(404, {"detail": "unknown checkout session"})
    except (GatewayUnavailableError, KubeUnavailableError):
        return PENDING
    return Verification(200, ready_body(user, dict(enrollment)))
