"""Creating a checkout session for a track: validate, record an order, ask the gateway."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, Field

from apranova_api.adapters.local_gateway import SESSION_ID_PLACEHOLDER
from apranova_api.curriculum import TRACKS
from apranova_api.metrics import CHECKOUT_SESSIONS
from apranova_api.models import ORDER_FAILED, Order
from apranova_api.payments.gateway import (
    CheckoutRequest,
    CreatedSession,
    GatewayRejectedError,
    GatewayUnavailableError,
)
from apranova_api.services import Services
from apranova_api.settings import origin_of
from apranova_contract.labels import track_resource_name


class CheckoutBody(BaseModel):
    """The body of ``POST /api/payments/create-simple-checkout/``."""

    track: str = Field(min_length=1, max_length=63)
    success_url: str = Field(min_length=1, max_length=2000)
    cancel_url: str = Field(min_length=1, max_length=2000)


class CheckoutError(ValueError):
    """A request that cannot become a checkout; ``status`` is the HTTP answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class TrackOffer:
    """What the student buys: read from the ``Track`` resource."""

    track: str
    name: str
    amount: int
    currency: str


def redirect_error(field: str, url: str, allowed: list[str]) -> str:
    """Why ``url`` may not be a redirect target, or ``""`` (pure)."""
    if origin_of(url) not in allowed:
        return f"{field} must start with one of the allowed origins: {', '.join(allowed)}"
    return ""


def with_session_id(url: str) -> str:
    """``url`` with ``session_id={CHECKOUT_SESSION_ID}`` so Stripe fills in the session (pure)."""
    if SESSION_ID_PLACEHOLDER in url:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "session_id"]
    encoded = urlencode(query)
    joined = f"{encoded}&" if encoded else ""
    return urlunsplit(parts._replace(query=f"{joined}session_id={SESSION_ID_PLACEHOLDER}"))


def offer_from_track(name: str, track: dict[str, Any]) -> TrackOffer:
    """The offer in a ``Track`` object; raises :class:`CheckoutError` when it has no price."""
    spec = track.get("spec") or {}
    price = spec.get("price") or {}
    amount, currency = price.get("amount"), price.get("currency")
    if not isinstance(amount, int) or amount <= 0 or not isinstance(currency, str):
        raise CheckoutError(503, f"track {name} has no valid price")
    return TrackOffer(
        track=name,
        name=str(spec.get("displayName") or name),
        amount=amount,
        currency=currency.lower(),
    )


def checkout_request(order_id: str, body: CheckoutBody, offer: TrackOffer) -> CheckoutRequest:
    """The gateway request for an order (pure); the idempotency key derives from the order."""
    metadata = {"track": offer.track, "anonymous_checkout": "true"}
    return CheckoutRequest(
        order_id=order_id,
        track=offer.track,
        product_name=f"ApraNova {offer.name}",
        amount=offer.amount,
        currency=offer.currency,
        success_url=with_session_id(body.success_url),
        cancel_url=body.cancel_url,
        metadata=metadata,
        idempotency_key=f"apranova-checkout-{order_id}",
    )


def create_checkout(services: Services, body: CheckoutBody, api_base_url: str) -> CreatedSession:
    """Validate ``body``, record an order and create its checkout session.

    Raises :class:`CheckoutError` (400 for bad input or a checkout the gateway refuses for
    good, 503 when the track has no price), and ``KubeUnavailableError``/
    ``GatewayUnavailableError`` pass through as 503. A failed creation leaves its order
    ``FAILED`` with the reason, never ``OPEN``.
    """
    allowed = services.settings.ALLOWED_REDIRECT_ORIGINS
    for field, url in (("success_url", body.success_url), ("cancel_url", body.cancel_url)):
        error = redirect_error(field, url, allowed)
        if error:
            raise CheckoutError(400, error)
    if body.track not in TRACKS:
        raise CheckoutError(400, f"unknown track {body.track!r}")
    track = services.kube.get_track(track_resource_name(body.track))
    if track is None:
        raise CheckoutError(400, f"unknown track {body.track!r}")
    offer = offer_from_track(body.track, track)
    order_id = "ord_" + uuid.uuid4().hex
    with services.sessions.begin() as db:
        db.add(Order(id=order_id, track=offer.track, amount=offer.amount, currency=offer.currency))
    try:
        created = services.gateway.create_session(
            checkout_request(order_id, body, offer), api_base_url
        )
    except GatewayRejectedError as error:
        _fail_order(services, order_id, str(error))
        raise CheckoutError(400, f"the payment provider refused this checkout: {error}") from error
    except GatewayUnavailableError as error:
        _fail_order(services, order_id, str(error))
        raise
    with services.sessions.begin() as db:
        order = db.get(Order, order_id)
        if order is not None:
            order.checkout_session_id = created.id
    CHECKOUT_SESSIONS.labels(track=offer.track).inc()
    return created


def _fail_order(services: Services, order_id: str, reason: str) -> None:
    with services.sessions.begin() as db:
        order = db.get(Order, order_id)
        if order is not None:
            order.status = ORDER_FAILED
            order.failure_reason = reason[:500]
