"""The typed spec: what the API writes is what the operator reads."""

from __future__ import annotations

from apranova_contract.spec import EnrollmentSpec, PaymentRef, Student, read_spec

ADA = Student(id="7", email="ada@example.com", name="Ada", username="ada")


def test_a_written_spec_reads_back_unchanged() -> None:
    spec = EnrollmentSpec(
        student=ADA,
        track="DP",
        payment=PaymentRef(
            checkout_session_id="cs_1", payment_intent_id="pi_1", amount_total=49900, currency="usd"
        ),
        suspended=True,
        suspension_reason="refund",
    )
    assert read_spec(spec.to_dict()) == spec


def test_absent_optionals_are_left_out_and_read_as_none() -> None:
    written = EnrollmentSpec(student=ADA, track="FSD", payment=PaymentRef()).to_dict()
    assert written["payment"] == {"provider": "stripe"}
    assert "suspensionReason" not in written and "githubUsername" not in written["student"]
    assert read_spec(written).payment.amount_total is None


def test_a_reason_without_suspension_is_not_written() -> None:
    spec = EnrollmentSpec(
        student=ADA, track="DP", payment=PaymentRef(), suspended=False, suspension_reason="x"
    )
    assert "suspensionReason" not in spec.to_dict()
