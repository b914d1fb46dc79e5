"""The Stripe gateway: Checkout Sessions through the official SDK.

``STRIPE_API_BASE`` points the SDK elsewhere (the tests' stand-in, a staging proxy). Every call
sends the pinned ``Stripe-Version`` (:mod:`apranova_api.payments.stripe_api`), waits at most
``timeout`` seconds per attempt and retries at most ``max_retries`` times (the SDK retries only
what Stripe says is safe to retry: connection errors, 409 lock timeouts, 429, 5xx; creations are
safe because they carry an idempotency key). Failures leave this module as the gateway's own
errors, classified by :func:`classify_stripe_error`.
"""

from __future__ import annotations

from typing import Any

import stripe

from apranova_api.payments.gateway import (
    ChargeNotFoundError,
    CheckoutRequest,
    CheckoutSnapshot,
    CreatedSession,
    GatewayRejectedError,
    GatewayUnavailableError,
    RefundRequest,
    SessionNotFoundError,
    snapshot_from_session,
)
from apranova_api.payments.purchases import ChargeFacts, DisputeFacts, charge_facts, dispute_facts
from apranova_api.payments.stripe_api import STRIPE_API_VERSION

TEMPORARY_STATUSES = frozenset({401, 409, 429})
"""4xx answers that a later retry can get past: 409 lock timeouts, 429 rate limits, and 401
(a revoked or rotated key: an operator fixes ``STRIPE_SECRET_KEY`` and every delivery Stripe
retries then succeeds; parking every paid checkout for it would strand the money)."""


def classify_stripe_error(error: stripe.StripeError) -> Exception:
    """The gateway error for a Stripe SDK error (pure).

    Temporary (:class:`GatewayUnavailableError`): no HTTP answer (connection refused, timeout),
    5xx, and :data:`TEMPORARY_STATUSES`. Permanent (:class:`GatewayRejectedError`): every other
    4xx (invalid request, permission, idempotency conflict). A 404 is handled by the caller
    first (an unknown session is :class:`SessionNotFoundError`).
    """
    status = error.http_status or 0
    message = error.user_message or str(error)
    if status == 0 or status >= 500 or status in TEMPORARY_STATUSES:
        return GatewayUnavailableError(f"Stripe unavailable ({status or 'no answer'}): {message}")
    return GatewayRejectedError(f"Stripe refused the request ({status}): {message}", status)


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
    """Creates and re-reads Checkout Sessions at Stripe (or ``api_base``).

    ``timeout`` is in seconds per HTTP attempt; a call takes at most about
    ``timeout * (max_retries + 1)`` plus the SDK's short backoff between attempts.
    """

    def __init__(
        self, secret_key: str, api_base: str, *, timeout: float = 10.0, max_retries: int = 2
    ) -> None:
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            stripe_version=STRIPE_API_VERSION,
            max_network_retries=max_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def create_session(self, request: CheckoutRequest, api_base_url: str) -> CreatedSession:
        try:
            session = self._client.v1.checkout.sessions.create(
                params=session_params(request),  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            raise classify_stripe_error(error) from error
        return CreatedSession(id=session.id, url=session.url or "")

    def retrieve_session(self, session_id: str) -> CheckoutSnapshot:
        try:
            session = self._client.v1.checkout.sessions.retrieve(
                session_id, params={"expand": ["payment_intent"]}
            )
        except stripe.StripeError as error:
            if error.http_status == 404:
                raise SessionNotFoundError(session_id) from error
            raise classify_stripe_error(error) from error
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
            raise classify_stripe_error(error) from error
        return str(refund.id)


def _lookup_error(object_id: str, error: stripe.StripeError) -> Exception:
    """Not found for a 404, else as :func:`classify_stripe_error` says."""
    if error.http_status == 404:
        return ChargeNotFoundError(object_id)
    return classify_stripe_error(error)
