"""The Stripe gateway: Checkout Sessions through the official SDK.

``STRIPE_API_BASE`` points the SDK elsewhere (the tests' stand-in, a staging proxy).
"""

from __future__ import annotations

from typing import Any

import stripe

from apranova_api.payments.gateway import (
    ChargeNotFoundError,
    CheckoutRequest,
    CheckoutSnapshot,
    CreatedSession,
    GatewayUnavailableError,
    RefundRequest,
    SessionNotFoundError,
    snapshot_from_session,
)
from apranova_api.payments.purchases import ChargeFacts, DisputeFacts, charge_facts, dispute_facts


def session_params(request: CheckoutRequest) -> dict[str, Any]:
    """The Checkout Session parameters for an order (pure)."""
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": request.currency,
                    "unit_amount": request.amount,
                    "product_data": {"name": request.product_name},
                },
            }
        ],
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "client_reference_id": request.order_id,
        "metadata": dict(request.metadata),
        "payment_intent_data": {"metadata": dict(request.metadata)},
    }


class StripeGateway:
    """Creates and re-reads Checkout Sessions at Stripe (or ``api_base``)."""

    def __init__(self, secret_key: str, api_base: str) -> None:
        self._client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base}, max_network_retries=2
        )

    def create_session(self, request: CheckoutRequest, api_base_url: str) -> CreatedSession:
        try:
            session = self._client.v1.checkout.sessions.create(
                params=session_params(request),  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            raise GatewayUnavailableError(
                f"Stripe refused the checkout session: {error}"
            ) from error
        return CreatedSession(id=session.id, url=session.url or "")

    def retrieve_session(self, session_id: str) -> CheckoutSnapshot:
        try:
            session = self._client.v1.checkout.sessions.retrieve(
                session_id, params={"expand": ["payment_intent"]}
            )
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                raise SessionNotFoundError(session_id) from error
            raise GatewayUnavailableError(str(error)) from error
        except stripe.StripeError as error:
            raise GatewayUnavailableError(str(error)) from error
        return snapshot_from_session(session.to_dict())

    def retrieve_charge(self, charge_id: str) -> ChargeFacts:
        try:
            charge = self._client.v1.charges.retrieve(charge_id)
        except stripe.StripeError as error:
            raise _lookup_error(charge_id, error) from error
        return charge_facts(charge.to_dict())

    def retrieve_dispute(self, dispute_id: str) -> DisputeFacts:
        try:
            dispute = self._client.v1.disputes.retrieve(dispute_id)
        except stripe.StripeError as error:
            raise _lookup_error(dispute_id, error) from error
        return dispute_facts(dispute.to_dict())

    def create_refund(self, request: RefundRequest) -> str:
        try:
            refund = self._client.v1.refunds.create(
                params={
                    "payment_intent": request.payment_intent_id,
                    "reason": request.reason,  # type: ignore[typeddict-item]
                    "metadata": dict(request.metadata),
                },
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            raise GatewayUnavailableError(f"Stripe refused the refund: {error}") from error
        return str(refund.id)


def _lookup_error(object_id: str, error: stripe.StripeError) -> Exception:
    """Not found for a 404, else a temporary failure."""
    if isinstance(error, stripe.InvalidRequestError) and error.http_status == 404:
        return ChargeNotFoundError(object_id)
    return GatewayUnavailableError(str(error))
