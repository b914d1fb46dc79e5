"""The payment routes (paths fixed by the frontend) and the offline checkout page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.adapters.local_gateway import LocalGateway, completed_event, redirect_url
from apranova_api.deps import ServicesDep
from apranova_api.money import format_price
from apranova_api.payments.checkout import CheckoutBody, CheckoutError, create_checkout
from apranova_api.payments.gateway import GatewayUnavailableError, SessionNotFoundError
from apranova_api.payments.signature import sign_payload
from apranova_api.payments.verify import verify_checkout_session
from apranova_api.payments.webhook import WebhookAnswer, handle_delivery
from apranova_api.payments.worker import DeadlineExceededError, WorkerBusyError
from apranova_api.services import Services
from apranova_contract.student_fields import (
    EMAIL_MAX_LENGTH,
    EMAIL_MIN_LENGTH,
    EMAIL_PATTERN,
    NAME_MAX_LENGTH,
)

router = APIRouter()
log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))


@router.post("/api/payments/create-simple-checkout/")
async def create_simple_checkout(
    body: CheckoutBody, request: Request, services: ServicesDep
) -> dict[str, str]:
    """Create a Checkout Session for a track; the browser goes to ``url``.

    Runs in the payment worker; answers 503 when Stripe is slower than the request deadline.
    """
    try:
        created = await services.worker.run(
            "checkout",
            services.settings.REQUEST_DEADLINE_SECONDS,
            create_checkout,
            services,
            body,
            str(request.base_url),
        )
    except CheckoutError as error:
        raise HTTPException(error.status, error.detail) from error
    except (
        KubeUnavailableError,
        GatewayUnavailableError,
        DeadlineExceededError,
        WorkerBusyError,
    ) as error:
        raise HTTPException(503, "checkout is unavailable right now; please retry") from error
    return {"sessionId": created.id, "url": created.url}


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The raw body, or ``None`` once it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/api/payments/stripe-webhook/")
@router.post("/api/payments/webhook/")
async def stripe_webhook(request: Request, services: ServicesDep) -> Response:
    """Stripe's webhook endpoint: the signature is checked on the raw body."""
    payload = await _read_capped(request, services.settings.WEBHOOK_MAX_BODY_BYTES)
    if payload is None:
        return JSONResponse({"detail": "body too large"}, status_code=413)
    try:
        answer = await services.worker.run(
            "webhook",
            services.settings.REQUEST_DEADLINE_SECONDS,
            handle_delivery,
            services,
            payload,
            request.headers.get("stripe-signature"),
        )
    except (DeadlineExceededError, WorkerBusyError) as error:
        log.warning("webhook delivery answered 503 (Stripe delivers again): %s", error)
        answer = WebhookAnswer(503, "retry_later")
    key = "received" if answer.status < 300 else "detail"
    body = {key: True, "outcome": answer.outcome} if answer.status < 300 else {key: answer.outcome}
    return JSONResponse(body, status_code=answer.status)


@router.get("/api/payments/verify-checkout-session/")
def verify_session(
    services: ServicesDep, session_id: Annotated[str | None, Query(max_length=255)] = None
) -> JSONResponse:
    """The buyer's state, answered from the database (``payments/verify_states.py``)."""
    if not session_id:
        raise HTTPException(400, "session_id is required")
    result = verify_checkout_session(services, session_id)
    return JSONResponse(result.body, status_code=result.status, headers=result.headers)


def _local_gateway(services: Services) -> LocalGateway:
    gateway = services.gateway
    if not isinstance(gateway, LocalGateway):
        raise HTTPException(404, "the local checkout runs only without a Stripe account")
    return gateway


@router.get("/checkout/local/{session_id}", response_class=HTMLResponse)
def local_checkout_page(request: Request, services: ServicesDep, session_id: str) -> Response:
    """The offline stand-in for Stripe Checkout: email and name, then "Pay"."""
    session = _local_gateway(services).get(session_id)
    if session is None:
        raise HTTPException(404, "unknown checkout session")
    return templates.TemplateResponse(
        request,
        "local_checkout.html",
        {
            "session": session,
            "price": format_price(session["amount_total"], session["currency"]),
            "product_name": session["line_items"]["data"][0]["description"],
            "cancel_url": session["cancel_url"],
        },
    )


@router.post("/checkout/local/{session_id}")
def local_checkout_pay(
    services: ServicesDep,
    session_id: str,
    email: Annotated[
        str,
        Form(min_length=EMAIL_MIN_LENGTH, max_length=EMAIL_MAX_LENGTH, pattern=EMAIL_PATTERN),
    ],
    name: Annotated[str, Form(min_length=1, max_length=NAME_MAX_LENGTH)],
) -> Response:
    """Pay the session, deliver a signed ``checkout.session.completed``, go to success_url."""
    gateway = _local_gateway(services)
    try:
        session = gateway.complete(session_id, email.strip(), name.strip())
    except SessionNotFoundError as error:
        raise HTTPException(404, "unknown checkout session") from error
    payload = completed_event(session)
    handle_delivery(services, payload, sign_payload(services.webhook_secret, payload))
    return RedirectResponse(redirect_url(session["success_url"], session_id), status_code=303)
