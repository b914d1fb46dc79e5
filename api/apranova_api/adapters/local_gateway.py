"""The offline gateway: checkout sessions kept in our database, paid on a local page.

Used only when ``STRIPE_SECRET_KEY`` is unset (never in production). Completing a session
produces the same signed ``checkout.session.completed`` Stripe would send, so everything after
the payment runs exactly as with Stripe.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from apranova_api.models import LocalCheckoutSession
from apranova_api.payments.enrollment import LOCAL_SESSION_PREFIX
from apranova_api.payments.gateway import (
    ChargeNotFoundError,
    CheckoutRequest,
    CheckoutSnapshot,
    CreatedSession,
    RefundRequest,
    SessionNotFoundError,
    snapshot_from_session,
)
from apranova_api.payments.purchases import ChargeFacts, DisputeFacts

SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"


def session_object(row: LocalCheckoutSession) -> dict[str, Any]:
    """The row as a Stripe Checkout Session object (pure)."""
    details = (
        {"email": row.customer_email, "name": row.customer_name} if row.customer_email else None
    )
    return {
        "id": row.id,
        "object": "checkout.session",
        "mode": "payment",
        "status": row.status,
        "payment_status": row.payment_status,
        "amount_total": row.amount,
        "currency": row.currency,
        "client_reference_id": row.client_reference_id,
        "customer_details": details,
        "customer_email": None,
        "metadata": dict(row.metadata_json),
        "payment_intent": row.payment_intent_id,
        "line_items": {
            "object": "list",
            "data": [{"description": row.product_name, "amount_total": row.amount, "quantity": 1}],
        },
        "success_url": row.success_url,
        "cancel_url": row.cancel_url,
    }


def completed_event(session: dict[str, Any], now: int | None = None) -> bytes:
    """A ``checkout.session.completed`` event for ``session``, serialised (pure but for ids)."""
    event = {
        "id": "evt_local_" + secrets.token_hex(12),
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()) if now is None else now,
        "livemode": False,
        "data": {"object": session},
    }
    return json.dumps(event, separators=(",", ":")).encode()


def redirect_url(template: str, session_id: str) -> str:
    """``success_url`` with the session id filled in (Stripe's ``{CHECKOUT_SESSION_ID}``)."""
    return template.replace(SESSION_ID_PLACEHOLDER, session_id)


class LocalGateway:
    """Checkout sessions in the ``local_checkout_sessions`` table."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create_session(self, request: CheckoutRequest, api_base_url: str) -> CreatedSession:
        session_id = LOCAL_SESSION_PREFIX + secrets.token_hex(16)
        with self._sessions.begin() as db:
            db.add(
                LocalCheckoutSession(
                    id=session_id,
                    client_reference_id=request.order_id,
                    track=request.track,
                    product_name=request.product_name,
                    amount=request.amount,
                    currency=request.currency,
                    success_url=request.success_url,
                    cancel_url=request.cancel_url,
                    metadata_json=dict(request.metadata),
                )
            )
        return CreatedSession(
            id=session_id, url=f"{api_base_url.rstrip('/')}/checkout/local/{session_id}"
        )

    def retrieve_session(self, session_id: str) -> CheckoutSnapshot:
        with self._sessions() as db:
            row = db.get(LocalCheckoutSession, session_id)
            if row is None:
                raise SessionNotFoundError(session_id)
            return snapshot_from_session(session_object(row))

    def get(self, session_id: str) -> dict[str, Any] | None:
        """The session object, or ``None``."""
        with self._sessions() as db:
            row = db.get(LocalCheckoutSession, session_id)
            return session_object(row) if row else None

    def complete(self, session_id: str, email: str, name: str) -> dict[str, Any]:
        """Pay the session (idempotent: a completed session keeps its first customer)."""
        with self._sessions.begin() as db:
            row = db.get(LocalCheckoutSession, session_id)
            if row is None:
                raise SessionNotFoundError(session_id)
            if row.status != "complete":
                row.status = "complete"
                row.payment_status = "paid"
                row.customer_email = email
                row.customer_name = name
                row.payment_intent_id = "pi_local_" + secrets.token_hex(12)
            return session_object(row)

    def retrieve_charge(self, charge_id: str) -> ChargeFacts:
        """Offline checkouts make no charges, so none is ever found."""
        raise ChargeNotFoundError(charge_id)

    def retrieve_dispute(self, dispute_id: str) -> DisputeFacts:
        """Offline checkouts make no charges, so no dispute is ever found."""
        raise ChargeNotFoundError(dispute_id)

    def create_refund(self, request: RefundRequest) -> str:
        """Offline checkouts take no money: the refund is only a record, named by its key."""
        return f"re_local_{request.idempotency_key}"
