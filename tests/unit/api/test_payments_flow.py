"""The payment flow through the HTTP API, against the Stripe stand-in and an in-memory cluster."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from apranova_api.accounts.models import OutboxMessage
from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.models import (
    AuditLog,
    Order,
    Payment,
    ProcessedEvent,
    StudentProgress,
    User,
)
from apranova_api.payments.repair import repair_once
from apranova_api.payments.signature import sign_payload
from tests.unit.api.payments_harness import ORIGIN, Harness, event, running_api


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh SQLite database (tests/e2e/test_payments_postgres.py runs these on PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'api.db'}"


def _paid_session(h: Harness, email: str = "Ada.Lovelace@Example.com", paid: bool = True) -> dict:
    created = h.checkout()
    assert h.stripe is not None
    return h.stripe.complete(created["sessionId"], email, "Ada Lovelace", paid=paid)


def test_checkout_creates_a_stripe_session_for_the_track(database_url: str) -> None:
    with running_api(database_url) as h:
        created = h.checkout("FSD")
        assert h.stripe is not None
        session = h.stripe.sessions[created["sessionId"]]
        assert created["url"] == session["url"]
        assert session["mode"] == "payment"
        assert session["amount_total"] == 59900
        assert session["metadata"] == {"track": "FSD", "anonymous_checkout": "true"}
        assert session["payment_intent_data"]["metadata"] == session["metadata"]
        assert (
            session["success_url"] == f"{ORIGIN}/payment/success?session_id={{CHECKOUT_SESSION_ID}}"
        )
        assert session["customer_email"] is None
        with h.db() as db:
            order = db.scalars(select(Order)).one()
        assert session["client_reference_id"] == order.id
        assert order.checkout_session_id == created["sessionId"]
        assert h.stripe.idempotent == {
            f"apranova-checkout-{order.id}": h.stripe.idempotent[f"apranova-checkout-{order.id}"]
        }


def test_checkout_refuses_unknown_tracks_and_foreign_redirects(database_url: str) -> None:
    with running_api(database_url) as h:
        good = {"success_url": f"{ORIGIN}/ok", "cancel_url": f"{ORIGIN}/back"}
        cases = [
            {**good, "track": "ML"},
            {**good, "track": "DP", "success_url": "https://evil.example/ok"},
            {**good, "track": "DP", "cancel_url": "javascript:alert(1)"},
            {**good, "track": "DP", "success_url": f"{ORIGIN}.evil.example/ok"},
        ]
        for body in cases:
            response = h.client.post("/api/payments/create-simple-checkout/", json=body)
            assert response.status_code == 400, body
        del h.cluster.tracks["fsd"]
        response = h.client.post(
            "/api/payments/create-simple-checkout/", json={**good, "track": "FSD"}
        )
        assert response.status_code == 400
        assert "unknown track" in response.json()["detail"]
        h.cluster.down = True
        response = h.client.post(
            "/api/payments/create-simple-checkout/", json={**good, "track": "DP"}
        )
        assert response.status_code == 503
        assert h.count(Order) == 0
        assert h.stripe is not None and h.stripe.sessions == {}


def test_completed_event_fulfils_everything_once(database_url: str) -> None:
    with running_api(database_url) as h:
        session = _paid_session(h)
        sid = session["id"]
        verify = h.client.get("/api/payments/verify-checkout-session/", params={"session_id": sid})
        assert verify.status_code in (200, 202)
        completed = event("checkout.session.completed", {"id": sid}, "evt_completed_1")
        for _ in range(3):
            assert h.deliver(completed).status_code == 200
        with h.db() as db:
            user = db.scalars(select(User)).one()
            payment = db.scalars(select(Payment)).one()
            progress = db.scalars(select(StudentProgress)).all()
            actions = [a.action for a in db.scalars(select(AuditLog))]
            order = db.scalars(select(Order)).one()
        assert (user.email, user.name, user.username) == (
            "ada.lovelace@example.com",
            "Ada Lovelace",
            "ada-lovelace",
        )
        assert (user.role, user.track, user.enrollment_status) == ("student", "DP", "ENROLLED")
        assert user.payment_verified and user.privacy_accepted and user.password_hash is None
        assert (payment.amount, payment.currency, payment.status) == (49900, "usd", "SUCCEEDED")
        assert payment.payment_intent_id == session["payment_intent"]
        assert payment.user_id == user.id
        unlocked = {p.step_id for p in progress if p.status == "unlocked"}
        assert unlocked == {"dp-1-1-connect", "dp-1-2-load", "dp-1-3-queries", "dp-1-4-joins"}
        assert len(progress) == 13
        assert actions.count("user_created") == 1 and actions.count("payment_succeeded") == 1
        assert order.status == "PAID"
        assert h.count(ProcessedEvent) == 1
        with h.db() as db:
            emails = db.scalars(select(OutboxMessage.kind).where(OutboxMessage.user_id == user.id))
            assert list(emails) == ["welcome"]
        enrollment = h.cluster.enrollments["ada-lovelace-dp"]
        assert enrollment["metadata"]["labels"] == {
            "apranova.io/test-run": "unit",
            "apranova.io/track": "DP",
        }
        assert enrollment["spec"] == {
            "student": {
                "id": str(user.id),
                "email": "ada.lovelace@example.com",
                "name": "Ada Lovelace",
                "username": "ada-lovelace",
            },
            "track": "DP",
            "payment": {
                "provider": "stripe",
                "checkoutSessionId": sid,
                "paymentIntentId": session["payment_intent"],
                "amountTotal": 49900,
                "currency": "usd",
            },
            "suspended": False,
        }
        h.cluster.enrollments["ada-lovelace-dp"]["status"] = {"phase": "Ready"}
        verify = h.client.get("/api/payments/verify-checkout-session/", params={"session_id": sid})
        assert verify.status_code == 200
        body = verify.json()
        assert body["phase"] == "Ready" and body["email"] == "ada.lovelace@example.com"
        assert body["track"] == "DP" and body["name"] == "Ada Lovelace"
        assert not any("token" in key.lower() for key in body)


def test_concurrent_duplicate_deliveries_give_one_of_everything(database_url: str) -> None:
    with running_api(database_url) as h:
        sid = _paid_session(h)["id"]
        same = event("checkout.session.completed", {"id": sid}, "evt_dup")
        others = [event("checkout.session.completed", {"id": sid}) for _ in range(10)]
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(h.deliver, [same] * 10 + others))
        assert [a.status_code for a in answers] == [200] * 20
        assert h.count(User) == 1 and h.count(Payment) == 1
        assert h.count(StudentProgress) == 13 and h.count(OutboxMessage) == 1
        assert len(h.cluster.enrollments) == 1
        assert h.count(ProcessedEvent) == 11


def test_unpaid_session_waits_for_async_success_in_any_order(database_url: str) -> None:
    with running_api(database_url) as h:
        sid = _paid_session(h, paid=False)["id"]
        answer = h.deliver(event("checkout.session.completed", {"id": sid}))
        assert answer.json()["outcome"] == "not_paid"
        assert h.count(User) == 0 and h.count(Payment) == 0
        verify = h.client.get("/api/payments/verify-checkout-session/", params={"session_id": sid})
        assert verify.status_code == 202
        assert verify.json()["status"] == "processing"
        assert h.services.worker.wait_idle(30)
        assert h.stripe is not None
        h.stripe.settle(sid, succeeded=True)
        answer = h.deliver(event("checkout.session.async_payment_succeeded", {"id": sid}))
        assert answer.json()["outcome"] == "fulfilled"
        assert h.count(User) == 1 and len(h.cluster.enrollments) == 1

        late = _paid_session(h, email="grace@example.com")["id"]
        first = h.deliver(event("checkout.session.async_payment_succeeded", {"id": late}))
        second = h.deliver(event("checkout.session.completed", {"id": late}))
        assert (first.json()["outcome"], second.json()["outcome"]) == (
            "fulfilled",
            "already_fulfilled",
        )
        assert h.count(User) == 2 and h.count(Payment) == 2


def test_async_failure_marks_the_order_failed(database_url: str) -> None:
    with running_api(database_url) as h:
        session = _paid_session(h, paid=False)
        obj = {"id": session["id"], "client_reference_id": session["client_reference_id"]}
        assert h.deliver(event("checkout.session.async_payment_failed", obj)).status_code == 200
        with h.db() as db:
            assert db.scalars(select(Order)).one().status == "FAILED"
        assert h.count(User) == 0


def test_refused_deliveries_write_nothing(database_url: str) -> None:
    with running_api(database_url) as h:
        sid = _paid_session(h)["id"]
        body = json.dumps(event("checkout.session.completed", {"id": sid})).encode()
        url = "/api/payments/webhook/"
        stale = sign_payload("whsec_unit_test_secret", body, int(time.time()) - 3600)
        cases = [
            {},
            {"Stripe-Signature": sign_payload("whsec_wrong", body)},
            {"Stripe-Signature": stale},
            {"Stripe-Signature": "t=1,v1=deadbeef"},
        ]
        for headers in cases:
            assert h.client.post(url, content=body, headers=headers).status_code == 400
        for bad in (b"{not json", b"[]", b'{"id": "evt_1"}'):
            headers = {"Stripe-Signature": sign_payload("whsec_unit_test_secret", bad)}
            assert h.client.post(url, content=bad, headers=headers).status_code == 400
        huge = b'{"pad": "' + b"x" * (300 * 1024) + b'"}'
        headers = {"Stripe-Signature": sign_payload("whsec_unit_test_secret", huge)}
        assert h.client.post(url, content=huge, headers=headers).status_code == 413
        assert h.count(User) == 0 and h.count(Payment) == 0 and h.count(ProcessedEvent) == 0
        assert h.cluster.enrollments == {}


def test_other_events_and_foreign_sessions_are_acknowledged_and_ignored(database_url: str) -> None:
    with running_api(database_url) as h:
        answer = h.deliver(event("customer.created", {"id": "cus_1"}))
        assert answer.status_code == 200 and answer.json()["outcome"] == "ignored"
        unknown = h.deliver(event("checkout.session.completed", {"id": "cs_test_unknown"}))
        assert unknown.status_code == 200 and unknown.json()["outcome"] == "unknown_session"
        assert h.count(User) == 0


def test_cluster_outage_answers_503_then_the_retry_completes(database_url: str) -> None:
    with running_api(database_url) as h:
        sid = _paid_session(h)["id"]
        completed = event("checkout.session.completed", {"id": sid}, "evt_outage")
        h.cluster.down = True
        assert h.deliver(completed).status_code == 503
        assert h.count(User) == 1 and h.count(Payment) == 1
        verify = h.client.get("/api/payments/verify-checkout-session/", params={"session_id": sid})
        assert verify.status_code == 202
        h.cluster.down = False
        assert h.deliver(completed).status_code == 200
        assert list(h.cluster.enrollments) == ["ada-lovelace-dp"]
        assert h.count(User) == 1


def test_verify_completes_fulfilment_when_the_webhook_is_late(database_url: str) -> None:
    with running_api(database_url) as h:
        sid = _paid_session(h)["id"]
        assert h.client.get("/api/payments/verify-checkout-session/").status_code == 400
        unknown = {"session_id": "cs_test_nope"}
        assert (
            h.client.get("/api/payments/verify-checkout-session/", params=unknown).status_code
            == 404
        )
        verify = h.client.get("/api/payments/verify-checkout-session/", params={"session_id": sid})
        assert verify.status_code == 202 and verify.json()["status"] == "pending"
        assert verify.headers["Retry-After"] == "3"
        # The poll handed one Stripe re-read to the payment worker, which fulfils the session.
        assert h.services.worker.wait_idle(30)
        verify = h.client.get("/api/payments/verify-checkout-session/", params={"session_id": sid})
        assert verify.status_code == 200
        assert verify.json()["status"] == "enrolled" and verify.json()["phase"] == "Pending"
        assert h.count(User) == 1 and len(h.cluster.enrollments) == 1
        assert h.deliver(event("checkout.session.completed", {"id": sid})).json()["outcome"] == (
            "already_fulfilled"
        )


def test_refund_and_dispute_suspend_the_enrollment(database_url: str) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        session = _paid_session(h)
        h.deliver(event("checkout.session.completed", {"id": session["id"]}))
        intent = session["payment_intent"]
        h.stripe.refund(intent, 100)
        partial = h.deliver(event("charge.refunded", h.stripe.charge_of(intent)))
        assert partial.json()["outcome"] == "partially_refunded"
        assert h.cluster.enrollments["ada-lovelace-dp"]["spec"]["suspended"] is False
        h.stripe.refund(intent)
        full = h.deliver(event("charge.refunded", h.stripe.charge_of(intent)))
        assert full.json()["outcome"] == "refunded"
        spec = h.cluster.enrollments["ada-lovelace-dp"]["spec"]
        assert (spec["suspended"], spec["suspensionReason"]) == (True, "refunded")
        with h.db() as db:
            user = db.scalars(select(User)).one()
            payment = db.scalars(select(Payment)).one()
        assert (user.enrollment_status, payment.status) == ("SUSPENDED", "REFUNDED")

        other = _paid_session(h, email="grace@example.com")
        dispute = h.stripe.open_dispute(other["payment_intent"], reason="fraudulent")
        h.deliver(event("checkout.session.completed", {"id": other["id"]}))
        answer = h.deliver(event("charge.dispute.created", dispute))
        assert (answer.status_code, answer.json()["outcome"]) == (200, "disputed")
        spec = h.cluster.enrollments["grace-dp"]["spec"]
        assert (spec["suspended"], spec["suspensionReason"]) == (True, "dispute: fraudulent")


def test_refund_before_fulfilment_is_applied_at_fulfilment(database_url: str) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        session = _paid_session(h)
        h.stripe.refund(session["payment_intent"])
        charge = h.stripe.charge_of(session["payment_intent"])
        early = h.deliver(event("charge.refunded", charge))
        assert (early.status_code, early.json()["outcome"]) == (200, "recorded_before_fulfilment")
        assert h.count(User) == 0
        h.deliver(event("checkout.session.completed", {"id": session["id"]}))
        with h.db() as db:
            user = db.scalars(select(User)).one()
            payment = db.scalars(select(Payment)).one()
        assert (user.enrollment_status, payment.status) == ("SUSPENDED", "REFUNDED")
        assert h.cluster.enrollments["ada-lovelace-dp"]["spec"]["suspended"] is True


def test_same_local_part_gets_distinct_usernames(database_url: str) -> None:
    with running_api(database_url) as h:
        for email in ("sam@one.example", "sam@two.example", "SAM@one.example"):
            sid = _paid_session(h, email=email)["id"]
            assert h.deliver(event("checkout.session.completed", {"id": sid})).status_code == 200
        with h.db() as db:
            users = db.scalars(select(User).order_by(User.id)).all()
            payments = db.scalars(select(Payment)).all()
        assert [u.email for u in users] == ["sam@one.example", "sam@two.example"]
        assert users[0].username == "sam" and users[1].username.startswith("sam-")
        assert len(payments) == 3 and payments[2].user_id == users[0].id
        assert [p.grant for p in payments] == ["grant", "grant", "duplicate"]


def test_repair_pass_creates_missing_and_suspends_refunded_enrollments(database_url: str) -> None:
    with running_api(database_url) as h:
        first = _paid_session(h)
        second = _paid_session(h, email="grace@example.com")
        h.cluster.down = True
        for session in (first, second):
            assert (
                h.deliver(event("checkout.session.completed", {"id": session["id"]})).status_code
                == 503
            )
        assert h.stripe is not None
        h.stripe.refund(second["payment_intent"])
        refund = h.stripe.charge_of(second["payment_intent"])
        assert h.deliver(event("charge.refunded", refund)).status_code == 503
        with pytest.raises(KubeUnavailableError):
            repair_once(h.services)
        h.cluster.down = False
        assert repair_once(h.services) == 2
        assert h.cluster.enrollments["ada-lovelace-dp"]["spec"]["suspended"] is False
        assert h.cluster.enrollments["grace-dp"]["spec"]["suspended"] is True
        h.cluster.enrollments["grace-dp"]["spec"]["suspended"] = False
        assert repair_once(h.services) == 1
        assert h.cluster.enrollments["grace-dp"]["spec"]["suspended"] is True
