"""The StudentEnrollment's spec as one type: written by the API, read by the operator.

:meth:`EnrollmentSpec.to_dict` gives the ``spec`` object the CRD (``crds/studentenrollments.yaml``)
validates; :func:`read_spec` reads one back, tolerating missing optional fields (the CRD has
already rejected malformed objects). Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Student:
    """Who the environment is for. ``username`` is a DNS label (see :mod:`.names`)."""

    id: str
    email: str
    name: str
    username: str
    github_username: str | None = None


@dataclass(frozen=True)
class PaymentRef:
    """The payment that bought the track; amounts in the currency's minor unit (cents)."""

    provider: str = "stripe"
    checkout_session_id: str | None = None
    payment_intent_id: str | None = None
    amount_total: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class EnrollmentSpec:
    """``spec`` of a StudentEnrollment."""

    student: Student
    track: str
    payment: PaymentRef
    suspended: bool = False
    suspension_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The spec as the Kubernetes API stores it (camelCase; absent optionals left out)."""
        student: dict[str, Any] = {
            "id": self.student.id,
            "email": self.student.email,
            "name": self.student.name,
            "username": self.student.username,
        }
        if self.student.github_username:
            student["githubUsername"] = self.student.github_username
        payment: dict[str, Any] = {"provider": self.payment.provider}
        if self.payment.checkout_session_id:
            payment["checkoutSessionId"] = self.payment.checkout_session_id
        if self.payment.payment_intent_id:
            payment["paymentIntentId"] = self.payment.payment_intent_id
        if self.payment.amount_total is not None:
            payment["amountTotal"] = self.payment.amount_total
        if self.payment.currency:
            payment["currency"] = self.payment.currency
        spec: dict[str, Any] = {
            "student": student,
            "track": self.track,
            "payment": payment,
            "suspended": self.suspended,
        }
        if self.suspended and self.suspension_reason:
            spec["suspensionReason"] = self.suspension_reason
        return spec


def read_spec(spec: Mapping[str, Any]) -> EnrollmentSpec:
    """An :class:`EnrollmentSpec` from a ``spec`` object; missing fields read as empty."""
    student = spec.get("student") or {}
    payment = spec.get("payment") or {}
    amount = payment.get("amountTotal")
    return EnrollmentSpec(
        student=Student(
            id=str(student.get("id", "")),
            email=str(student.get("email", "")),
            name=str(student.get("name", "")),
            username=str(student.get("username", "")),
            github_username=student.get("githubUsername") or None,
        ),
        track=str(spec.get("track", "")),
        payment=PaymentRef(
            provider=str(payment.get("provider", "stripe")),
            checkout_session_id=payment.get("checkoutSessionId") or None,
            payment_intent_id=payment.get("paymentIntentId") or None,
            amount_total=int(amount) if amount is not None else None,
            currency=payment.get("currency") or None,
        ),
        suspended=bool(spec.get("suspended", False)),
        suspension_reason=spec.get("suspensionReason") or None,
    )
