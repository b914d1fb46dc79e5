"""The fields of a Stripe event that the webhook reads, checked before anything is written.

Pure functions, no I/O. A validly signed body can still hold anything (a test mode tool, a
misconfigured forwarder, a compromised secret), so every field the handlers use is checked for
type and size here, and the delivery is refused with 400 naming the field, rather than failing
half-way in the database. Limits follow our columns (``processed_events.id`` 255,
``processed_events.type`` 100, ``payments.payment_intent_id`` 255, ``orders.id`` 64); Stripe's
own identifiers are far shorter. PostgreSQL cannot store NUL in text, and Stripe never sends one,
so a NUL anywhere refuses the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CHECKOUT_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
    }
)
CHARGE_EVENTS = frozenset({"charge.refunded", "charge.dispute.created"})
_REASON_MAX = 100


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _text(value: Any, limit: int, optional: bool = False) -> bool:
    if value is None:
        return optional
    return isinstance(value, str) and 0 < len(value) <= limit


def _amount(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def shape_problem(event: Any) -> str | None:
    """Why ``event`` (parsed JSON) cannot be handled, naming the field; ``None`` when it can."""
    if not isinstance(event, dict):
        return "body is not a Stripe event (id, type, data.object)"
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not (isinstance(event.get("id"), str) and isinstance(event.get("type"), str)):
        return "body is not a Stripe event (id, type, data.object)"
    if not isinstance(obj, dict):
        return "body is not a Stripe event (id, type, data.object)"
    if _has_nul(event):
        return "event contains a NUL character"
    if not _text(event["id"], 255):
        return "event id must be 1 to 255 characters"
    if not _text(event["type"], 100):
        return "event type must be 1 to 100 characters"
    if event["type"] in CHECKOUT_EVENTS:
        if not _text(obj.get("id"), 255):
            return "data.object.id must be a checkout session id"
        if not _text(obj.get("client_reference_id"), 64, optional=True):
            return "data.object.client_reference_id must be null or at most 64 characters"
    if event["type"] in CHARGE_EVENTS:
        if not _text(obj.get("payment_intent"), 255, optional=True):
            return "data.object.payment_intent must be null or a payment intent id"
        for field in ("amount", "amount_refunded"):
            if not _amount(obj.get(field)):
                return f"data.object.{field} must be null or a non-negative integer"
        if not isinstance(obj.get("refunded"), bool | None):
            return "data.object.refunded must be null or a boolean"
        if not _text(obj.get("reason"), _REASON_MAX, optional=True):
            return f"data.object.reason must be null or at most {_REASON_MAX} characters"
    return None
