"""Pure parts of the payment flow: signatures, URLs, decisions, desired objects, schema."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from apranova_api import models
from apranova_api.curriculum import UnknownTrackError, load_curriculum
from apranova_api.db import Base, make_engine
from apranova_api.migrate import upgrade_to_head
from apranova_api.payments.checkout import redirect_error, with_session_id
from apranova_api.payments.enrollment import (
    EnrollmentFacts,
    desired_enrollment,
    namespace_is_foreign,
    spec_patch,
)
from apranova_api.payments.fulfil import rejection_reason
from apranova_api.payments.gateway import snapshot_from_session
from apranova_api.payments.repair import enrollments_to_sync
from apranova_api.payments.signature import InvalidWebhookError, sign_payload, verify_event

SECRET = "whsec_pure"
PAYMENT_TABLES = [
    getattr(models, name).__table__
    for name in (
        "User",
        "Payment",
        "ProcessedEvent",
        "Order",
        "Enrollment",
        "ChargeRecord",
        "DisputeRecord",
        "AuditLog",
        "StudentProgress",
        "LocalCheckoutSession",
    )
]
EVENT = json.dumps({"id": "evt_1", "type": "x", "data": {"object": {}}}).encode()


def test_signature_round_trip_and_refusals() -> None:
    assert verify_event(EVENT, sign_payload(SECRET, EVENT), SECRET, 300)["id"] == "evt_1"
    refusals = [
        (EVENT, sign_payload("whsec_other", EVENT)),
        (EVENT, sign_payload(SECRET, EVENT, int(time.time()) - 301)),
        (EVENT + b" ", sign_payload(SECRET, EVENT)),
        (EVENT, None),
        (b"\xff\xfe", sign_payload(SECRET, b"\xff\xfe")),
        (b"nope", sign_payload(SECRET, b"nope")),
        (b'{"id": 1}', sign_payload(SECRET, b'{"id": 1}')),
    ]
    for payload, header in refusals:
        with pytest.raises(InvalidWebhookError):
            verify_event(payload, header, SECRET, 300)


def test_signature_matches_stripes_published_scheme() -> None:
    header = sign_payload("whsec_x", b"{}", 1_700_000_000)
    expected = hmac.new(b"whsec_x", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_redirect_urls() -> None:
    allowed = ["https://apranova.example", "http://localhost:3000"]
    assert redirect_error("u", "https://apranova.example/payment/success", allowed) == ""
    assert redirect_error("u", "http://localhost:3000/x?y=1", allowed) == ""
    for bad in (
        "https://apranova.example.evil.test/",
        "http://apranova.example/",
        "//evil.test/x",
        "/relative",
        "https://user@evil.test/",
        "http://localhost:3001/",
    ):
        assert redirect_error("u", bad, allowed), bad
    assert with_session_id("https://a.example/s") == (
        "https://a.example/s?session_id={CHECKOUT_SESSION_ID}"
    )
    assert with_session_id("https://a.example/s?x=1&session_id=9") == (
        "https://a.example/s?x=1&session_id={CHECKOUT_SESSION_ID}"
    )
    already = "https://a.example/s?sid={CHECKOUT_SESSION_ID}"
    assert with_session_id(already) == already


def _facts(**overrides: object) -> EnrollmentFacts:
    values: dict = {
        "user_id": 7,
        "email": "ada@example.com",
        "name": "",
        "username": "ada",
        "track": "FSD",
        "suspended": False,
        "suspension_reason": None,
        "checkout_session_id": "cs_1",
        "payment_intent_id": None,
        "amount": 59900,
        "currency": "usd",
    }
    values.update(overrides)
    return EnrollmentFacts(**values)


def test_desired_enrollment_and_spec_patch() -> None:
    legacy = desired_enrollment(_facts(), {})
    assert legacy["metadata"]["name"] == "ada"
    desired = desired_enrollment(_facts(enrollment_name="ada-fsd"), {"apranova.io/test-run": "r1"})
    assert desired["metadata"] == {
        "name": "ada-fsd",
        "labels": {"apranova.io/test-run": "r1", "apranova.io/track": "FSD"},
    }
    assert desired["spec"]["student"] == {
        "id": "7",
        "email": "ada@example.com",
        "name": "ada",
        "username": "ada",
    }
    assert desired["spec"]["payment"] == {
        "provider": "stripe",
        "checkoutSessionId": "cs_1",
        "amountTotal": 59900,
        "currency": "usd",
    }
    assert spec_patch({"spec": {"suspended": False}}, desired) is None
    suspended = desired_enrollment(_facts(suspended=True, suspension_reason="refunded"), {})
    assert spec_patch({"spec": {"suspended": False}}, suspended) == {
        "suspended": True,
        "suspensionReason": "refunded",
    }
    already = {"spec": {"suspended": True, "suspensionReason": "refunded"}}
    assert spec_patch(already, suspended) is None
    assert spec_patch(already, desired) == {"suspended": False, "suspensionReason": None}


def test_a_namespace_is_foreign_unless_absent_or_labelled_for_the_enrollment() -> None:
    assert not namespace_is_foreign(None, "ada-dp")
    assert not namespace_is_foreign({"apranova.io/enrollment": "ada-dp"}, "ada-dp")
    assert namespace_is_foreign({}, "ada-dp")
    assert namespace_is_foreign({"apranova.io/enrollment": "ada"}, "ada-dp")


def test_enrollments_to_sync() -> None:
    rows = [
        (1, "ada-dp", "ACTIVE"),
        (2, "bob-dp", "ACTIVE"),
        (3, "eve-dp", "SUSPENDED"),
        (4, "sam-dp", "ACTIVE"),
    ]
    cluster = {"ada-dp": False, "eve-dp": True, "sam-dp": True}
    assert enrollments_to_sync(rows, cluster) == [2, 3, 4]


def test_snapshot_and_rejections() -> None:
    session = {
        "id": "cs_1",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": 49900,
        "currency": "USD",
        "customer_details": {"email": "a@b.example", "name": "A"},
        "payment_intent": {"id": "pi_1"},
        "metadata": {"track": "DP", "anonymous_checkout": "true"},
    }
    snapshot = snapshot_from_session(session)
    assert (snapshot.paid, snapshot.payment_intent_id, snapshot.currency) == (True, "pi_1", "usd")
    assert rejection_reason(snapshot) == ""
    foreign = snapshot_from_session({**session, "metadata": {"track": "DP"}})
    assert "anonymous_checkout" in rejection_reason(foreign)
    bad_track = snapshot_from_session(
        {**session, "metadata": {"track": "X", "anonymous_checkout": "true"}}
    )
    assert "unknown track" in rejection_reason(bad_track)
    no_email = snapshot_from_session({**session, "customer_details": {}})
    assert "email" in rejection_reason(no_email)


def test_curriculum_is_shipped_for_both_tracks() -> None:
    for track in ("DP", "FSD"):
        curriculum = load_curriculum(track)
        assert len(curriculum.projects) >= 3
        assert len(set(curriculum.step_ids())) == len(curriculum.step_ids())
    all_ids = load_curriculum("DP").step_ids() + load_curriculum("FSD").step_ids()
    assert len(set(all_ids)) == len(all_ids)
    with pytest.raises(UnknownTrackError):
        load_curriculum("dp")


def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    upgrade_to_head(engine)
    upgrade_to_head(engine)
    ours = {table.name for table in PAYMENT_TABLES}

    def include_name(name: str | None, type_: str, parents: dict[str, str | None]) -> bool:
        if type_ == "schema":
            return True
        table = name if type_ == "table" else parents.get("table_name")
        return table in ours

    def include_object(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table in ours

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": include_name, "include_object": include_object}
        )
        assert compare_metadata(context, Base.metadata) == []
