"""Every payment state gets a final, honest answer: verify states, parking, bounded Stripe work.

Against the Stripe stand-in (backed by stripe-mock) and the in-memory cluster;
tests/e2e/test_payment_states_e2e.py drives the same states through the real control plane,
PostgreSQL and Chromium.
"""

from __future__ import annotations

import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from apranova_api.accounts.models import OutboxMessage
from apranova_api.accounts.outbox import OutboxSender
from apranova_api.accounts.settings import AccountsSettings
from apranova_api.models import AuditLog, Order, ParkedFulfilment, User
from apranova_api.payments.repair import repair_once
from apranova_api.payments.verify_states import VerifyFacts, VerifyState, decide
from tests.support.hanging_server import HangingServer
from tests.unit.api.payments_harness import ORIGIN, Harness, event, running_api

VERIFY = "/api/payments/verify-checkout-session/"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.db'}"


def _verify(h: Harness, session_id: str) -> tuple[int, dict]:
    response = h.client.get(VERIFY, params={"session_id": session_id})
    return response.status_code, response.json()


def _settled_verify(h: Harness, session_id: str) -> tuple[int, dict]:
    """Verify, let the Stripe re-read it started finish, verify again."""
    _verify(h, session_id)
    assert h.services.worker.wait_idle(30)
    return _verify(h, session_id)


def _post_checkout(h: Harness) -> Any:
    """The raw answer to a DP checkout request (for the failure cases)."""
    return h.client.post(
        "/api/payments/create-simple-checkout/",
        json={"track": "DP", "success_url": f"{ORIGIN}/ok", "cancel_url": f"{ORIGIN}/back"},
    )


def _completed(h: Harness, email: str, paid: bool) -> dict:
    created = h.checkout()
    assert h.stripe is not None
    return h.stripe.complete(created["sessionId"], email, "Ada Lovelace", paid=paid)


@pytest.mark.parametrize(
    ("facts", "state"),
    [
        (VerifyFacts(order_status="OPEN"), VerifyState.PENDING),
        (VerifyFacts(order_status="PROCESSING"), VerifyState.PROCESSING),
        (VerifyFacts(order_status="FAILED", failure_reason="declined"), VerifyState.FAILED),
        (VerifyFacts(order_status="EXPIRED"), VerifyState.EXPIRED),
        (VerifyFacts(order_status="PAID", paid=True), VerifyState.PENDING),
        (
            VerifyFacts(order_status="PAID", paid=True, enrollment={"status": {"phase": "Ready"}}),
            VerifyState.ENROLLED,
        ),
        (
            VerifyFacts(
                paid=True, order_status=None, enrollment={"status": {"phase": "Terminating"}}
            ),
            VerifyState.PENDING,
        ),
        (VerifyFacts(order_status="OPEN", parked_reason="too long"), VerifyState.REJECTED),
    ],
)
def test_each_situation_has_one_state(facts: VerifyFacts, state: VerifyState) -> None:
    assert decide(facts) is state


def test_delayed_payment_processing_then_enrolled(database_url: str) -> None:
    with running_api(database_url) as h:
        sid = _completed(h, "ada@example.com", paid=False)["id"]
        assert h.deliver(event("checkout.session.completed", {"id": sid})).json()["outcome"] == (
            "not_paid"
        )
        status, body = _settled_verify(h, sid)
        assert (status, body["status"]) == (202, "processing")
        assert "few business days" in body["detail"] and body["retryAfterSeconds"] == 30
        assert h.stripe is not None
        h.stripe.settle(sid, succeeded=True)
        answer = h.deliver(event("checkout.session.async_payment_succeeded", {"id": sid}))
        assert answer.json()["outcome"] == "fulfilled"
        status, body = _verify(h, sid)
        assert (status, body["status"], body["email"]) == (200, "enrolled", "ada@example.com")
        with h.db() as db:
            kinds = [m.kind for m in db.scalars(select(OutboxMessage))]
        assert kinds == ["welcome"]


def test_delayed_payment_failure_is_final_and_emailed(database_url: str) -> None:
    with running_api(database_url) as h:
        session = _completed(h, "ada@example.com", paid=False)
        sid = session["id"]
        h.deliver(event("checkout.session.completed", {"id": sid}))
        assert h.stripe is not None
        failed = h.stripe.settle(sid, succeeded=False)
        assert h.deliver(event("checkout.session.async_payment_failed", failed)).status_code == 200
        status, body = _settled_verify(h, sid)
        assert (status, body["status"]) == (402, "failed")
        assert "did not go through" in body["detail"]
        with h.db() as db:
            order = db.scalars(select(Order)).one()
            assert (order.status, order.failure_reason) == ("FAILED", body["reason"])
        assert h.count(User) == 0
        sent: list[EmailMessage] = []
        settings = AccountsSettings(smtp_url="smtp://127.0.0.1:1", public_base_url="http://x.test")
        OutboxSender(h.services.sessions, settings, None, send=sent.append).deliver_due()
        [message] = sent
        assert message["To"] == "ada@example.com"
        assert "did not go through" in message["Subject"]
        assert "http://x.test/get-started" in message.get_content()


def test_expired_checkout(database_url: str) -> None:
    with running_api(database_url) as h:
        created = h.checkout()
        assert h.stripe is not None
        expired = h.stripe.expire(created["sessionId"])
        assert h.deliver(event("checkout.session.expired", expired)).json()["outcome"] == (
            "order_expired"
        )
        status, body = _verify(h, created["sessionId"])
        assert (status, body["status"]) == (410, "expired")


def test_polls_ask_stripe_at_most_once_per_interval(database_url: str) -> None:
    with running_api(database_url, STRIPE_POLL_INTERVAL_SECONDS="300") as h:
        sid = _completed(h, "ada@example.com", paid=False)["id"]
        assert h.stripe is not None
        before = h.stripe.requests.count(("GET", "session"))
        statuses = {_verify(h, sid)[0] for _ in range(25)}
        assert h.services.worker.wait_idle(30)
        statuses |= {_verify(h, sid)[0] for _ in range(25)}
        assert statuses == {202}
        assert h.stripe.requests.count(("GET", "session")) - before == 1


def test_a_permanent_stripe_refusal_of_a_checkout_is_a_4xx_with_no_open_order(
    database_url: str,
) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        h.stripe.inject(
            400,
            {"type": "invalid_request_error", "message": "Amount must be at least $0.50 usd"},
            "POST",
            "/v1/checkout/sessions",
        )
        response = _post_checkout(h)
        assert response.status_code == 400
        assert "Amount must be at least" in response.json()["detail"]
        with h.db() as db:
            assert [o.status for o in db.scalars(select(Order))] == ["FAILED"]


def test_a_stripe_outage_at_checkout_is_a_503_with_no_open_order(database_url: str) -> None:
    with running_api(database_url, STRIPE_MAX_RETRIES="0") as h:
        assert h.stripe is not None
        h.stripe.inject(500, {"type": "api_error", "message": "boom"}, "POST", "/v1/checkout")
        response = _post_checkout(h)
        assert response.status_code == 503
        with h.db() as db:
            assert [o.status for o in db.scalars(select(Order))] == ["FAILED"]


def _parked_total(source: str) -> float:
    return REGISTRY.get_sample_value("apranova_parked_fulfilments_total", {"source": source}) or 0.0


def test_an_email_the_crd_would_refuse_is_rejected_before_any_write(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    long_email = "a" * 260 + "@example.com"
    parked_before = _parked_total("validation")
    with running_api(database_url) as h:
        sid = _completed(h, long_email, paid=True)["id"]
        answer = h.deliver(event("checkout.session.completed", {"id": sid}))
        assert _parked_total("validation") == parked_before + 1
        assert any(
            r.levelname == "WARNING" and sid in r.getMessage() and "parked" in r.getMessage()
            for r in caplog.records
        )
        assert (answer.status_code, answer.json()["outcome"]) == (200, "rejected")
        assert h.count(User) == 0 and h.cluster.creates == 0
        status, body = _verify(h, sid)
        assert (status, body["status"]) == (409, "rejected")
        assert "at most 254" in body["reason"] and "refund" in body["money"]
        with h.db() as db:
            assert db.scalars(select(AuditLog.action)).all().count("fulfilment_parked") == 1
        # A second delivery parks nothing twice.
        assert h.deliver(event("checkout.session.completed", {"id": sid})).status_code == 200
        assert h.count(ParkedFulfilment) == 1
        assert _parked_total("validation") == parked_before + 1


def test_a_cluster_422_parks_one_fulfilment_and_repair_goes_on(database_url: str) -> None:
    with running_api(database_url) as h:
        h.cluster.refused["ada-dp"] = "spec.student.name: Too long"
        ada = _completed(h, "ada@example.com", paid=True)["id"]
        answer = h.deliver(event("checkout.session.completed", {"id": ada}))
        assert (answer.status_code, answer.json()["outcome"]) == (200, "parked")
        status, body = _verify(h, ada)
        assert (status, body["status"]) == (409, "rejected")
        assert "422" in body["reason"]
        grace = _completed(h, "grace@example.com", paid=True)["id"]
        assert h.deliver(event("checkout.session.completed", {"id": grace})).status_code == 200
        del h.cluster.enrollments["grace-dp"]
        creates = h.cluster.creates
        assert repair_once(h.services) == 1
        assert "grace-dp" in h.cluster.enrollments and "ada-dp" not in h.cluster.enrollments
        assert h.cluster.creates == creates + 1


def test_the_webhook_answers_within_the_deadline_when_stripe_hangs(database_url: str) -> None:
    hanging = HangingServer().start()
    try:
        with running_api(
            database_url, STRIPE_API_BASE=hanging.url, REQUEST_DEADLINE_SECONDS="1"
        ) as h:
            with h.db() as db:
                db.add(
                    Order(
                        id="ord_hang",
                        track="DP",
                        amount=1,
                        currency="usd",
                        checkout_session_id="cs_test_hang",
                    )
                )
                db.commit()
            started = time.monotonic()
            answer = h.deliver(event("checkout.session.completed", {"id": "cs_test_hang"}))
            waited = time.monotonic() - started
            assert (answer.status_code, answer.json()["detail"]) == (503, "retry_later")
            # Bounded by the deadline, not by Stripe's timeout of 10 s per attempt.
            assert waited < h.services.settings.STRIPE_TIMEOUT_SECONDS
            status, body = _verify(h, "cs_test_hang")
            assert (status, body["status"]) == (202, "pending")
            assert hanging.accepted >= 1
            hanging.stop()
    finally:
        hanging.stop()
