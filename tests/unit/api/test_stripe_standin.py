"""The Stripe stand-in is checked by stripe-mock: a request Stripe would refuse fails the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from apranova_api.adapters.stripe_gateway import session_params
from apranova_api.payments.gateway import CheckoutRequest
from tests.support.stripe_standin import StripeStandIn


@pytest.fixture
def standin() -> Iterator[StripeStandIn]:
    server = StripeStandIn().start()
    yield server
    server.rejections.clear()
    server.stop()


def _client(standin: StripeStandIn) -> stripe.StripeClient:
    return stripe.StripeClient(
        standin.api_key, base_addresses={"api": standin.url}, max_network_retries=0
    )


def _request(order_id: str = "ord_1") -> CheckoutRequest:
    return CheckoutRequest(
        order_id=order_id,
        track="DP",
        product_name="ApraNova Data Professional",
        amount=49900,
        currency="usd",
        success_url="http://shop.test/ok?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://shop.test/back",
        metadata={"track": "DP", "anonymous_checkout": "true"},
        idempotency_key=f"apranova-checkout-{order_id}",
    )


def test_a_request_stripe_mock_rejects_fails_the_test(standin: StripeStandIn) -> None:
    params = {**session_params(_request()), "mode": "one_time", "colour": "blue"}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _client(standin).v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]
    assert raised.value.http_status == 400
    assert [r.path for r in standin.rejections] == ["/v1/checkout/sessions"]
    assert standin.sessions == {}
    with pytest.raises(AssertionError, match="stripe-mock refused"):
        standin.stop()


def test_the_product_parameters_pass_and_objects_carry_stripe_fields(
    standin: StripeStandIn,
) -> None:
    client = _client(standin)
    session = client.v1.checkout.sessions.create(
        params=session_params(_request())  # type: ignore[arg-type]
    )
    standin.complete(session.id, "ada@example.com", "Ada", paid=False)
    again = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    view = again.to_dict()
    # Fields the stand-in never sets itself come from stripe-mock's fixtures.
    assert {"expires_at", "payment_method_types", "total_details", "livemode"} <= set(view)
    assert view["status"] == "complete" and view["payment_status"] == "unpaid"
    assert view["payment_intent"]["status"] == "processing"
    assert {"latest_charge", "amount_received", "client_secret"} <= set(view["payment_intent"])
    assert "line_items_params" not in view and "payment_intent_data" not in view
    assert standin.rejections == []


def test_unknown_sessions_are_404_and_idempotency_keys_are_checked(
    standin: StripeStandIn,
) -> None:
    client = _client(standin)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.checkout.sessions.retrieve("cs_test_unknown")
    assert missing.value.http_status == 404
    options = {"idempotency_key": "apranova-checkout-ord_1"}
    first = client.v1.checkout.sessions.create(
        params=session_params(_request()),  # type: ignore[arg-type]
        options=options,  # type: ignore[arg-type]
    )
    replay = client.v1.checkout.sessions.create(
        params=session_params(_request()),  # type: ignore[arg-type]
        options=options,  # type: ignore[arg-type]
    )
    assert replay.id == first.id
    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(
            params=session_params(_request("ord_2")),  # type: ignore[arg-type]
            options=options,  # type: ignore[arg-type]
        )
    assert len(standin.sessions) == 1
