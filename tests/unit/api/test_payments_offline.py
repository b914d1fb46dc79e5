"""The offline checkout: without a Stripe key the local page stands in for Stripe Checkout."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from apranova_api.models import Payment, User
from apranova_api.settings import Settings
from tests.unit.api.payments_harness import ORIGIN, running_api


def test_local_checkout_page_pays_and_fulfils(tmp_path: Path) -> None:
    with running_api(
        f"sqlite:///{tmp_path / 'api.db'}", offline=True, STRIPE_WEBHOOK_SECRET=None
    ) as h:
        created = h.checkout()
        path = urlsplit(created["url"]).path
        assert path == f"/checkout/local/{created['sessionId']}"
        page = h.client.get(path)
        assert page.status_code == 200
        assert 'for="email"' in page.text and 'for="name"' in page.text
        assert "Pay $499</button>" in page.text
        refused = h.client.post(path, data={"email": "not-an-email", "name": "Ada"})
        assert refused.status_code == 422
        paid = h.client.post(
            path, data={"email": "ada@example.com", "name": "Ada"}, follow_redirects=False
        )
        assert paid.status_code == 303
        target = urlsplit(paid.headers["location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == f"{ORIGIN}/payment/success"
        assert parse_qs(target.query) == {"session_id": [created["sessionId"]]}
        assert h.count(User) == 1 and h.count(Payment) == 1
        assert list(h.cluster.enrollments) == ["ada-dp"]
        spec = h.cluster.enrollments["ada-dp"]["spec"]
        assert spec["payment"]["checkoutSessionId"] == created["sessionId"]
        assert spec["payment"]["paymentIntentId"].startswith("pi_local_")
        assert spec["payment"]["provider"] == "local"
        again = h.client.post(path, data={"email": "eve@example.com", "name": "Eve"})
        assert again.status_code == 200
        assert h.count(User) == 1
        verify = h.client.get(
            "/api/payments/verify-checkout-session/", params={"session_id": created["sessionId"]}
        )
        assert verify.status_code == 200 and verify.json()["email"] == "ada@example.com"


def test_local_checkout_is_absent_with_stripe(tmp_path: Path) -> None:
    with running_api(f"sqlite:///{tmp_path / 'api.db'}") as h:
        assert h.client.get("/checkout/local/cs_local_x").status_code == 404


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"APRANOVA_ENV": "production"}, "STRIPE_SECRET_KEY is required"),
        (
            {"STRIPE_SECRET_KEY": "sk_live_abc", "STRIPE_WEBHOOK_SECRET": "whsec_x"},
            "live key",
        ),
        ({"STRIPE_SECRET_KEY": "sk_test_abc"}, "STRIPE_WEBHOOK_SECRET is required"),
        ({"ALLOWED_REDIRECT_ORIGINS": "https://ok.example/path"}, "not an origin"),
        ({"ENROLLMENT_LABELS": "novalue"}, "not a label"),
        ({"STRIPE_API_BASE": "ftp://x"}, "not an http"),
    ],
)
def test_settings_refuse_unsafe_configurations(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**values)


def test_live_keys_are_accepted_in_production() -> None:
    settings = Settings(
        APRANOVA_ENV="production", STRIPE_SECRET_KEY="sk_live_abc", STRIPE_WEBHOOK_SECRET="whsec_x"
    )
    assert not settings.offline
