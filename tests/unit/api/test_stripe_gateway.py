"""The Stripe gateway: explicit timeouts and retries, temporary and permanent failures."""

from __future__ import annotations

import pytest
import stripe

from apranova_api.adapters.stripe_gateway import StripeGateway, classify_stripe_error
from apranova_api.payments.gateway import (
    GatewayRejectedError,
    GatewayUnavailableError,
    SessionNotFoundError,
)
from tests.support.hanging_server import HangingServer
from tests.support.stripe_standin import StripeStandIn


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (stripe.APIConnectionError("timed out"), GatewayUnavailableError),
        (stripe.APIError("boom", http_status=500), GatewayUnavailableError),
        (stripe.RateLimitError("slow down", http_status=429), GatewayUnavailableError),
        (stripe.InvalidRequestError("lock", None, http_status=409), GatewayUnavailableError),
        (stripe.InvalidRequestError("amount", "amount", http_status=400), GatewayRejectedError),
        (stripe.AuthenticationError("revoked key", http_status=401), GatewayUnavailableError),
        (stripe.PermissionError("forbidden", http_status=403), GatewayRejectedError),
        (stripe.IdempotencyError("reused", http_status=400), GatewayRejectedError),
    ],
)
def test_failures_are_temporary_or_permanent(error: stripe.StripeError, kind: type) -> None:
    assert isinstance(classify_stripe_error(error), kind)


def test_a_hanging_stripe_costs_one_timeout_per_attempt() -> None:
    hanging = HangingServer().start()
    try:
        gateway = StripeGateway("sk_test_x", hanging.url, timeout=0.5, max_retries=1)
        with pytest.raises(GatewayUnavailableError):
            gateway.retrieve_session("cs_test_hang")
        assert hanging.accepted == 2
    finally:
        hanging.stop()


def test_unknown_sessions_and_bad_keys_from_stripe() -> None:
    standin = StripeStandIn().start()
    try:
        gateway = StripeGateway(standin.api_key, standin.url, timeout=5, max_retries=0)
        with pytest.raises(SessionNotFoundError):
            gateway.retrieve_session("cs_test_unknown")
        wrong_key = StripeGateway("sk_test_wrong", standin.url, timeout=5, max_retries=0)
        with pytest.raises(GatewayUnavailableError, match="401"):
            wrong_key.retrieve_session("cs_test_unknown")
    finally:
        standin.stop()
