"""Purchases through the HTTP API: several tracks, duplicates, refunds and disputes per purchase.

Runs against the Stripe stand-in (charges, refunds and disputes with Stripe's shapes) and the
in-memory cluster; tests/e2e/test_payments_postgres.py runs them on PostgreSQL and
tests/e2e/test_purchases_cluster.py shows the same against the real control plane and operator.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from apranova_api.accounts.models import OutboxMessage
from apranova_api.accounts.passwords import hash_password
from apranova_api.models import Enrollment, Payment, StudentProgress, User
from apranova_api.payments.fulfil import record_fulfilment
from apranova_api.payments.gateway import snapshot_from_session
from apranova_api.payments.repair import repair_once
from apranova_api.payments.transactions import run_in_transaction
from tests.unit.api.payments_harness import Harness, event, running_api

VERIFY = "/api/payments/verify-checkout-session/"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh SQLite database (tests/e2e/test_payments_postgres.py runs these on PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'api.db'}"


def buy(h: Harness, track: str = "DP", email: str = "ada@example.com") -> dict[str, Any]:
    """Check out, pay at the stand-in and deliver ``checkout.session.completed``."""
    assert h.stripe is not None
    created = h.checkout(track)
    session = h.stripe.complete(created["sessionId"], email, "Ada Lovelace")
    answer = h.deliver(event("checkout.session.completed", {"id": session["id"]}))
    assert answer.status_code == 200, answer.text
    return session


def spec(h: Harness, name: str) -> dict[str, Any]:
    return h.cluster.enrollments[name]["spec"]


def payment_status(h: Harness, intent: str) -> str:
    with h.db() as db:
        return db.scalars(select(Payment.status).where(Payment.payment_intent_id == intent)).one()


def emails(h: Harness) -> list[tuple[str, str | None]]:
    with h.db() as db:
        rows = db.execute(
            select(OutboxMessage.kind, OutboxMessage.track).order_by(OutboxMessage.id)
        )
        return [(kind, track) for kind, track in rows]


def test_a_second_track_with_the_same_email_is_a_second_enrollment(database_url: str) -> None:
    with running_api(database_url) as h:
        buy(h, "DP")
        with h.db() as db, db.begin():
            db.scalars(select(User)).one().password_hash = hash_password("a long passphrase 1")
        fsd = buy(h, "FSD", email="ADA@Example.com")
        assert sorted(h.cluster.enrollments) == ["ada-dp", "ada-fsd"]
        assert spec(h, "ada-fsd")["track"] == "FSD" and spec(h, "ada-fsd")["suspended"] is False
        assert spec(h, "ada-fsd")["student"]["username"] == "ada"
        with h.db() as db:
            assert db.scalars(select(User.email)).all() == ["ada@example.com"]
            rows = db.execute(select(Enrollment.track, Enrollment.name, Enrollment.state)).all()
            steps = db.scalars(select(StudentProgress.step_id)).all()
        assert sorted(tuple(r) for r in rows) == [
            ("DP", "ada-dp", "ACTIVE"),
            ("FSD", "ada-fsd", "ACTIVE"),
        ]
        assert {s.split("-")[0] for s in steps} == {"dp", "fsd"}
        assert emails(h) == [("welcome", None), ("track_added", "FSD")]
        h.cluster.enrollments["ada-fsd"]["status"] = {"phase": "Ready"}
        body = h.client.get(VERIFY, params={"session_id": fsd["id"]}).json()
        assert (body["status"], body["track"], body["enrollment"]) == ("enrolled", "FSD", "ada-fsd")


def test_buying_a_held_track_again_is_refunded_automatically(database_url: str) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        first = buy(h, "DP")
        second = buy(h, "DP")
        assert list(h.cluster.enrollments) == ["ada-dp"]
        key = f"apranova-duplicate-refund-{second['payment_intent']}"
        refund = h.stripe.idempotent[key]
        assert (refund["payment_intent"], refund["reason"], refund["amount"]) == (
            second["payment_intent"],
            "duplicate",
            49900,
        )
        assert h.stripe.charge_of(second["payment_intent"])["refunded"] is True
        assert h.stripe.charge_of(first["payment_intent"])["refunded"] is False
        with h.db() as db:
            dup = db.scalars(
                select(Payment).where(Payment.checkout_session_id == second["id"])
            ).one()
        assert (dup.grant, dup.refund_id) == ("duplicate", refund["id"])
        assert emails(h) == [("welcome", None), ("duplicate_refunded", "DP")]
        body = h.client.get(VERIFY, params={"session_id": second["id"]}).json()
        assert (body["status"], body["refundId"], body["enrollment"]) == (
            "refunded_duplicate",
            refund["id"],
            "ada-dp",
        )
        # Stripe then reports the refund of the duplicate: the student stays enrolled.
        charge = h.stripe.charge_of(second["payment_intent"])
        answer = h.deliver(event("charge.refunded", charge))
        assert answer.json()["outcome"] == "refunded"
        assert spec(h, "ada-dp")["suspended"] is False
        # Redelivery makes no second refund.
        h.deliver(event("checkout.session.completed", {"id": second["id"]}))
        assert h.stripe.requests.count(("POST", "refunds")) == 1


def test_a_duplicate_refund_during_a_stripe_outage_is_made_later(database_url: str) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        buy(h, "DP")
        created = h.checkout("DP")
        session = h.stripe.complete(created["sessionId"], "ada@example.com", "Ada")
        # The purchase is recorded, then Stripe refuses every call (401) until the key is back.
        snapshot = snapshot_from_session(session)
        run_in_transaction(h.services.sessions, lambda db: record_fulfilment(db, snapshot, None))
        real_key = h.stripe.api_key
        h.stripe.api_key = "sk_test_rotated"
        repair_once(h.services)
        assert h.stripe.requests.count(("POST", "refunds")) == 0
        h.stripe.api_key = real_key
        repair_once(h.services)
        assert h.stripe.charge_of(session["payment_intent"])["refunded"] is True
        repair_once(h.services)
        assert h.stripe.requests.count(("POST", "refunds")) == 1


def test_a_late_older_partial_refund_event_leaves_the_payment_refunded(database_url: str) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        intent = buy(h)["payment_intent"]
        h.stripe.refund(intent, 100)
        older = event("charge.refunded", h.stripe.charge_of(intent))
        h.stripe.refund(intent)
        newer = event("charge.refunded", h.stripe.charge_of(intent))
        assert h.deliver(newer).json()["outcome"] == "refunded"
        assert h.deliver(older).json()["outcome"] == "refunded"
        assert payment_status(h, intent) == "REFUNDED"
        assert spec(h, "ada-dp")["suspended"] is True


def test_the_dispute_lifecycle(database_url: str) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        intent = buy(h)["payment_intent"]
        inquiry = h.stripe.open_dispute(intent, status="warning_needs_response")
        assert h.deliver(event("charge.dispute.created", inquiry)).json()["outcome"] == (
            "dispute_inquiry"
        )
        assert spec(h, "ada-dp")["suspended"] is False
        closed = h.stripe.set_dispute_status(inquiry["id"], "warning_closed")
        h.deliver(event("charge.dispute.closed", closed))
        dispute = h.stripe.open_dispute(intent, with_payment_intent=False)
        assert dispute["payment_intent"] is None
        assert h.deliver(event("charge.dispute.created", dispute)).json()["outcome"] == "disputed"
        assert spec(h, "ada-dp")["suspensionReason"] == "dispute: fraudulent"
        assert spec(h, "ada-dp")["suspended"] is True
        won = h.stripe.set_dispute_status(dispute["id"], "won")
        assert h.deliver(event("charge.dispute.closed", won)).json()["outcome"] == "dispute_won"
        assert spec(h, "ada-dp")["suspended"] is False
        # The older "created" event arriving late re-reads the dispute: still won.
        assert h.deliver(event("charge.dispute.created", dispute)).json()["outcome"] == (
            "dispute_won"
        )
        assert spec(h, "ada-dp")["suspended"] is False


def test_a_lost_dispute_revokes_and_a_new_purchase_reinstates(database_url: str) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        intent = buy(h)["payment_intent"]
        dispute = h.stripe.open_dispute(intent)
        lost = h.stripe.set_dispute_status(dispute["id"], "lost")
        assert h.deliver(event("charge.dispute.closed", lost)).json()["outcome"] == "dispute_lost"
        with h.db() as db:
            assert db.scalars(select(Enrollment.state)).one() == "REVOKED"
        assert spec(h, "ada-dp")["suspended"] is True
        again = buy(h)
        assert list(h.cluster.enrollments) == ["ada-dp"]
        assert spec(h, "ada-dp")["suspended"] is False
        assert (
            "suspensionReason" not in spec(h, "ada-dp") or not spec(h, "ada-dp")["suspensionReason"]
        )
        assert h.stripe.requests.count(("POST", "refunds")) == 0
        with h.db() as db:
            assert db.scalars(select(Enrollment.state)).one() == "ACTIVE"
            grants = db.scalars(select(Payment.grant).order_by(Payment.id)).all()
        assert grants == ["grant", "grant"]
        assert h.client.get(VERIFY, params={"session_id": again["id"]}).json()["status"] == (
            "enrolled"
        )


def test_repurchase_after_a_full_refund_reinstates_the_enrollment(database_url: str) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        intent = buy(h)["payment_intent"]
        h.stripe.refund(intent)
        h.deliver(event("charge.refunded", h.stripe.charge_of(intent)))
        assert spec(h, "ada-dp")["suspended"] is True
        buy(h)
        assert spec(h, "ada-dp")["suspended"] is False
        assert list(h.cluster.enrollments) == ["ada-dp"]


def test_a_failed_refund_lifts_the_suspension_it_caused(database_url: str) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        intent = buy(h)["payment_intent"]
        refund = h.stripe.refund(intent)
        h.deliver(event("charge.refunded", h.stripe.charge_of(intent)))
        assert spec(h, "ada-dp")["suspended"] is True
        failed = h.stripe.fail_refund(refund["id"])
        assert h.deliver(event("charge.refund.updated", failed)).json()["outcome"] == "succeeded"
        assert spec(h, "ada-dp")["suspended"] is False


def test_a_dispute_before_fulfilment_is_applied_at_fulfilment(database_url: str) -> None:
    with running_api(database_url) as h:
        assert h.stripe is not None
        created = h.checkout("DP")
        session = h.stripe.complete(created["sessionId"], "ada@example.com", "Ada")
        dispute = h.stripe.open_dispute(session["payment_intent"], with_payment_intent=False)
        early = h.deliver(event("charge.dispute.created", dispute))
        assert early.json()["outcome"] == "recorded_before_fulfilment"
        h.deliver(event("checkout.session.completed", {"id": session["id"]}))
        assert spec(h, "ada-dp")["suspended"] is True
        assert payment_status(h, session["payment_intent"]) == "DISPUTED"


def test_a_foreign_namespace_does_not_strand_the_payer(database_url: str) -> None:
    with running_api(database_url) as h:
        h.cluster.namespaces["student-ada-dp"] = {"team": "someone-else"}
        session = buy(h)
        (name,) = h.cluster.enrollments
        assert name.startswith("ada-dp-") and name != "ada-dp"
        with h.db() as db:
            assert db.scalars(select(Enrollment.name)).one() == name
        assert h.client.get(VERIFY, params={"session_id": session["id"]}).status_code == 200


def test_verify_waits_while_the_enrollment_of_this_purchase_is_terminating(
    database_url: str,
) -> None:
    with running_api(database_url) as h:
        session = buy(h)
        h.cluster.enrollments["ada-dp"]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        assert h.client.get(VERIFY, params={"session_id": session["id"]}).status_code == 202
        del h.cluster.enrollments["ada-dp"]
        # The poll hands the re-creation to the payment worker; a later poll sees it.
        answers = []
        for _ in range(50):
            answers.append(h.client.get(VERIFY, params={"session_id": session["id"]}).status_code)
            if answers[-1] == 200:
                break
            time.sleep(0.1)
        assert answers[-1] == 200
