"""Stripe's webhook signing scheme: ``Stripe-Signature: t=<ts>,v1=<hmac>``.

The HMAC-SHA256 is over ``f"{t}.{raw body}"`` with the endpoint's secret. Verification uses the
Stripe SDK itself; signing (offline checkout, tests) is the same scheme written out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import stripe

from apranova_api.payments.event_shape import shape_problem


class InvalidWebhookError(ValueError):
    """A delivery that must be refused with 400: bad or stale signature, or not an event."""


def sign_payload(secret: str, payload: bytes, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload``."""
    ts = int(time.time()) if timestamp is None else timestamp
    signed = f"{ts}.".encode() + payload
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def verify_event(payload: bytes, header: str | None, secret: str, tolerance: int) -> dict[str, Any]:
    """The event in ``payload`` once its signature is valid and fresh; else raises."""
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), header, secret, tolerance=tolerance
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        raise InvalidWebhookError(f"invalid signature: {error}") from error
    try:
        event = json.loads(payload)
    except ValueError as error:
        raise InvalidWebhookError(f"body is not JSON: {error}") from error
    problem = shape_problem(event)
    if problem is not None:
        raise InvalidWebhookError(problem)
    return event
