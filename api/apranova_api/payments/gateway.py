"""What the API needs from a payment provider, as plain data and one small protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from apranova_api.payments.purchases import ChargeFacts, DisputeFacts


class GatewayUnavailableError(RuntimeError):
    """Temporary: the provider could not be reached, timed out, failed (5xx) or rate-limited
    us (429); the same request can succeed later, so the caller retries (503 to Stripe)."""


class GatewayRejectedError(RuntimeError):
    """Permanent: the provider refused the request itself (400 invalid request, 403 forbidden,
    idempotency conflict); repeating it cannot succeed. ``status`` is the provider's HTTP
    status (0 when it had none)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class SessionNotFoundError(LookupError):
    """The provider does not know this checkout session."""


class ChargeNotFoundError(LookupError):
    """The provider does not know this charge or dispute."""


@dataclass(frozen=True)
class RefundRequest:
    """A full refund of one payment (Stripe's Refunds API), made at most once per key."""

    payment_intent_id: str
    reason: str
    idempotency_key: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class CheckoutRequest:
    """A checkout session to create for one order."""

    order_id: str
    track: str
    product_name: str
    amount: int
    currency: str
    success_url: str
    cancel_url: str
    metadata: dict[str, str]
    idempotency_key: str


@dataclass(frozen=True)
class CreatedSession:
    """The provider's answer: where to send the browser."""

    id: str
    url: str


@dataclass(frozen=True)
class CheckoutSnapshot:
    """A checkout session as the provider reports it now (never as an event claimed)."""

    id: str
    status: str
    payment_status: str
    amount_total: int
    currency: str
    customer_email: str | None
    customer_name: str | None
    payment_intent_id: str | None
    client_reference_id: str | None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def paid(self) -> bool:
        """True once the money is ours (Stripe's ``payment_status`` is ``paid``)."""
        return self.payment_status == "paid"


def snapshot_from_session(session: dict[str, Any]) -> CheckoutSnapshot:
    """A :class:`CheckoutSnapshot` from a Checkout Session object (a dict, as Stripe sends it).

    ``payment_intent`` may be an id or an expanded object. The customer's email falls back from
    ``customer_details.email`` to ``customer_email``.
    """
    details = session.get("customer_details") or {}
    intent = session.get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    return CheckoutSnapshot(
        id=session["id"],
        status=session.get("status") or "",
        payment_status=session.get("payment_status") or "",
        amount_total=int(session.get("amount_total") or 0),
        currency=(session.get("currency") or "").lower(),
        customer_email=details.get("email") or session.get("customer_email"),
        customer_name=details.get("name"),
        payment_intent_id=intent_id,
        client_reference_id=session.get("client_reference_id"),
        metadata={str(k): str(v) for k, v in (session.get("metadata") or {}).items()},
    )


class CheckoutGateway(Protocol):
    """Creates and re-reads checkout sessions (Stripe, or the offline stand-in)."""

    def create_session(self, request: CheckoutRequest, api_base_url: str) -> CreatedSession:
        """Create a session; ``api_base_url`` is where this API is reachable (offline pages)."""

    def retrieve_session(self, session_id: str) -> CheckoutSnapshot:
        """The session as the provider knows it; raises :class:`SessionNotFoundError`."""

    def retrieve_charge(self, charge_id: str) -> ChargeFacts:
        """The charge as the provider knows it now; raises :class:`ChargeNotFoundError`."""

    def retrieve_dispute(self, dispute_id: str) -> DisputeFacts:
        """The dispute as the provider knows it now; raises :class:`ChargeNotFoundError`."""

    def create_refund(self, request: RefundRequest) -> str:
        """Refund the payment in full; returns the refund's id (the same for a repeated key)."""
