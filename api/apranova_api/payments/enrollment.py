"""The StudentEnrollment of a student: built from database facts, then made to exist.

:func:`desired_enrollment` is pure; :func:`ensure_enrollment` creates it ("already exists" is
success) and, when the database says the student is suspended, patches ``spec.suspended``.
It never un-suspends: lifting a suspension is a deliberate act, not a repair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.adapters.kube import Cluster
from apranova_api.models import SUSPENDED, Payment, User
from apranova_contract.labels import API_VERSION, ENROLLMENT_KIND, TRACK
from apranova_contract.names import enrollment_name
from apranova_contract.spec import EnrollmentSpec, PaymentRef, Student


@dataclass(frozen=True)
class EnrollmentFacts:
    """What the database knows about a student's enrollment."""

    user_id: int
    email: str
    name: str
    username: str
    track: str
    suspended: bool
    suspension_reason: str | None
    checkout_session_id: str | None
    payment_intent_id: str | None
    amount: int | None
    currency: str | None


LOCAL_SESSION_PREFIX = "cs_local_"
"""Checkout sessions of the offline checkout page (``payments/local_gateway.py``) start so."""


def payment_provider(checkout_session_id: str | None) -> str:
    """``local`` for a session of the offline checkout page, else ``stripe`` (pure)."""
    if checkout_session_id and checkout_session_id.startswith(LOCAL_SESSION_PREFIX):
        return "local"
    return "stripe"


def desired_enrollment(facts: EnrollmentFacts, extra_labels: dict[str, str]) -> dict[str, Any]:
    """The StudentEnrollment object for ``facts`` (design.md section 3)."""
    spec = EnrollmentSpec(
        student=Student(
            id=str(facts.user_id),
            email=facts.email,
            name=facts.name or facts.username,
            username=facts.username,
        ),
        track=facts.track,
        payment=PaymentRef(
            provider=payment_provider(facts.checkout_session_id),
            checkout_session_id=facts.checkout_session_id,
            payment_intent_id=facts.payment_intent_id,
            amount_total=facts.amount,
            currency=facts.currency,
        ),
        suspended=facts.suspended,
        suspension_reason=facts.suspension_reason,
    )
    return {
        "apiVersion": API_VERSION,
        "kind": ENROLLMENT_KIND,
        "metadata": {
            "name": enrollment_name(facts.username),
            "labels": {**extra_labels, TRACK: facts.track},
        },
        "spec": spec.to_dict(),
    }


def suspension_patch(existing: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any] | None:
    """The spec patch that suspends ``existing`` as ``desired`` says, or ``None`` (pure)."""
    want = desired["spec"]
    have = existing.get("spec") or {}
    if not want["suspended"]:
        return None
    reason = want.get("suspensionReason", "")
    if have.get("suspended") is True and have.get("suspensionReason", "") == reason:
        return None
    return {"suspended": True, "suspensionReason": reason}


def ensure_enrollment(kube: Cluster, desired: dict[str, Any]) -> str:
    """Make the enrollment exist (and be suspended when it should); returns what it did."""
    if kube.create_enrollment(desired):
        return "created"
    name = desired["metadata"]["name"]
    existing = kube.get_enrollment(name)
    if existing is None:
        return "created" if kube.create_enrollment(desired) else "exists"
    patch = suspension_patch(existing, desired)
    if patch is None:
        return "exists"
    kube.patch_enrollment_spec(name, patch)
    return "suspended"


def facts_for_user(db: Session, user: User) -> EnrollmentFacts:
    """The enrollment facts of ``user``: the user row and its first payment."""
    payment = db.scalars(
        select(Payment).where(Payment.user_id == user.id).order_by(Payment.id).limit(1)
    ).first()
    return EnrollmentFacts(
        user_id=user.id,
        email=user.email,
        name=user.name,
        username=user.username,
        track=user.track,
        suspended=user.enrollment_status == SUSPENDED,
        suspension_reason=user.suspension_reason,
        checkout_session_id=payment.checkout_session_id if payment else None,
        payment_intent_id=payment.payment_intent_id if payment else None,
        amount=payment.amount if payment else None,
        currency=payment.currency if payment else None,
    )
