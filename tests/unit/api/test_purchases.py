"""Purchase decisions: what a payment grants, and what refunds and disputes do to it (pure)."""

from __future__ import annotations

import pytest

from apranova_api.payments import purchases as p


def charge(
    amount_refunded: int = 0, *, refunded: bool = False, amount: int = 49900
) -> p.ChargeFacts:
    return p.ChargeFacts("ch_1", "pi_1", amount, amount_refunded, refunded)


def dispute(status: str, reason: str = "fraudulent") -> p.DisputeFacts:
    return p.DisputeFacts("dp_1", "ch_1", None, status, 49900, reason)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ((charge(), None), p.SUCCEEDED),
        ((None, None), p.SUCCEEDED),
        ((charge(100), None), p.PARTIALLY_REFUNDED),
        ((charge(49900), None), p.REFUNDED),
        ((charge(100, refunded=True), None), p.REFUNDED),
        ((charge(), dispute("warning_needs_response")), p.DISPUTE_INQUIRY),
        ((charge(), dispute("warning_under_review")), p.DISPUTE_INQUIRY),
        ((charge(), dispute("warning_closed")), p.DISPUTE_WON),
        ((charge(), dispute("needs_response")), p.DISPUTED),
        ((charge(), dispute("under_review")), p.DISPUTED),
        ((charge(), dispute("some_future_status")), p.DISPUTED),
        ((charge(), dispute("won")), p.DISPUTE_WON),
        ((charge(), dispute("prevented")), p.DISPUTE_WON),
        ((charge(), dispute("lost")), p.DISPUTE_LOST),
        ((charge(49900), dispute("lost")), p.DISPUTE_LOST),
        ((charge(49900), dispute("needs_response")), p.REFUNDED),
        ((charge(100), dispute("won")), p.PARTIALLY_REFUNDED),
    ],
)
def test_payment_status_from_latest_state(
    facts: tuple[p.ChargeFacts | None, p.DisputeFacts | None], expected: str
) -> None:
    assert p.payment_status(*facts) == expected


@pytest.mark.parametrize(
    ("statuses", "admin", "expected"),
    [
        ([p.SUCCEEDED], None, p.EnrollmentStanding(p.ACTIVE, True)),
        ([], None, p.EnrollmentStanding(p.ACTIVE, True)),
        ([p.PARTIALLY_REFUNDED], None, p.EnrollmentStanding(p.ACTIVE, True)),
        ([p.DISPUTE_INQUIRY], None, p.EnrollmentStanding(p.ACTIVE, True)),
        ([p.DISPUTE_WON], None, p.EnrollmentStanding(p.ACTIVE, True)),
        ([p.DISPUTED], None, p.EnrollmentStanding(p.SUSPENDED, False, "dispute: fraudulent")),
        ([p.REFUNDED], None, p.EnrollmentStanding(p.REVOKED, False, "refunded")),
        ([p.DISPUTE_LOST], None, p.EnrollmentStanding(p.REVOKED, False, "dispute lost")),
        ([p.REFUNDED, p.SUCCEEDED], None, p.EnrollmentStanding(p.ACTIVE, True)),
        (
            [p.REFUNDED, p.DISPUTED],
            None,
            p.EnrollmentStanding(p.SUSPENDED, False, "dispute: fraudulent"),
        ),
        ([p.SUCCEEDED], "abuse report", p.EnrollmentStanding(p.SUSPENDED, True, "abuse report")),
        ([p.REFUNDED], "abuse report", p.EnrollmentStanding(p.REVOKED, False, "refunded")),
    ],
)
def test_enrollment_standing(
    statuses: list[str], admin: str | None, expected: p.EnrollmentStanding
) -> None:
    assert p.enrollment_standing(statuses, admin, "fraudulent") == expected


def held(track: str, state: str, *, entitled: bool) -> p.HeldEnrollment:
    return p.HeldEnrollment(f"ada-{track.lower()}", track, p.EnrollmentStanding(state, entitled))


def test_first_purchase_of_a_track_is_a_new_enrollment() -> None:
    assert p.decide_fulfilment("DP", []) == p.FulfilmentDecision(p.NEW_ENROLLMENT)
    other = [held("FSD", p.ACTIVE, entitled=True)]
    assert p.decide_fulfilment("DP", other) == p.FulfilmentDecision(p.NEW_ENROLLMENT)


@pytest.mark.parametrize(
    ("state", "entitled", "action"),
    [
        (p.ACTIVE, True, p.REFUND_DUPLICATE),
        (p.SUSPENDED, True, p.REFUND_DUPLICATE),
        (p.SUSPENDED, False, p.REINSTATE),
        (p.REVOKED, False, p.REINSTATE),
    ],
)
def test_a_held_track_is_refunded_or_reinstated(state: str, entitled: bool, action: str) -> None:
    holding = [held("FSD", p.ACTIVE, entitled=True), held("DP", state, entitled=entitled)]
    assert p.decide_fulfilment("DP", holding) == p.FulfilmentDecision(action, "ada-dp")


def test_parsing_stripe_objects() -> None:
    assert p.charge_facts(
        {
            "id": "ch_1",
            "amount": 500,
            "amount_refunded": 500,
            "refunded": True,
            "payment_intent": None,
        }
    ) == p.ChargeFacts("ch_1", None, 500, 500, True)
    assert (
        p.charge_facts(
            {
                "id": "ch_1",
                "amount": 500,
                "amount_refunded": 0,
                "refunded": False,
                "payment_intent": {"id": "pi_1", "object": "payment_intent"},
            }
        ).payment_intent_id
        == "pi_1"
    )
    assert p.dispute_facts(
        {
            "id": "dp_1",
            "charge": "ch_1",
            "payment_intent": None,
            "status": "won",
            "amount": 500,
            "reason": "fraudulent",
        }
    ) == p.DisputeFacts("dp_1", "ch_1", None, "won", 500, "fraudulent")


@pytest.mark.parametrize(
    ("event_type", "obj", "expected"),
    [
        (
            "charge.refunded",
            {"id": "ch_1", "payment_intent": "pi_1"},
            p.ChargeReference("ch_1", "pi_1"),
        ),
        (
            "charge.refund.updated",
            {"id": "re_1", "charge": "ch_1", "payment_intent": None},
            p.ChargeReference("ch_1", None),
        ),
        (
            "charge.dispute.created",
            {"id": "dp_1", "charge": "ch_1", "payment_intent": None},
            p.ChargeReference("ch_1", None, "dp_1"),
        ),
        (
            "charge.dispute.closed",
            {"id": "dp_1", "charge": {"id": "ch_1"}, "payment_intent": "pi_1"},
            p.ChargeReference("ch_1", "pi_1", "dp_1"),
        ),
        ("charge.dispute.created", {"id": "dp_1", "charge": None}, None),
        ("customer.created", {"id": "cus_1"}, None),
    ],
)
def test_charge_reference(event_type: str, obj: dict, expected: p.ChargeReference | None) -> None:
    assert p.charge_reference(event_type, obj) == expected


def test_duplicate_refund_key_is_per_payment() -> None:
    assert p.duplicate_refund_key("pi_1", "cs_1") == p.duplicate_refund_key("pi_1", "cs_1")
    assert p.duplicate_refund_key("pi_1", "cs_1") != p.duplicate_refund_key("pi_2", "cs_2")
    assert p.duplicate_refund_key(None, "cs_1").endswith("cs_1")
