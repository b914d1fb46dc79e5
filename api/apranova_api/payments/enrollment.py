"""The StudentEnrollment of one enrollment row: built from database facts, then made to exist.

:func:`desired_enrollment` and :func:`spec_patch` are pure; :func:`ensure_enrollment` creates the
object ("already exists" is success) and makes ``spec.suspended`` follow the database, both
ways: the database's standing is derived from what Stripe (or support) last said, so lifting a
suspension here is as deliberate as imposing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.adapters.kube import Cluster
from apranova_api.models import Enrollment, Payment, User
from apranova_api.payments import purchases
from apranova_contract.labels import API_VERSION, ENROLLMENT, ENROLLMENT_KIND, TRACK
from apranova_contract.names import namespace_name
from apranova_contract.spec import EnrollmentSpec, PaymentRef, Student

CREATED = "created"
EXISTS = "exists"
PATCHED = "patched"
TERMINATING = "terminating"
NAMESPACE_TAKEN = "namespace_taken"


@dataclass(frozen=True)
class EnrollmentFacts:
    """What the database knows about one enrollment."""

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
    enrollment_name: str = ""
    """The object's name; empty means the username (the rule before purchases)."""


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
            "name": facts.enrollment_name or facts.username,
            "labels": {**extra_labels, TRACK: facts.track},
        },
        "spec": spec.to_dict(),
    }


def spec_patch(existing: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any] | None:
    """The merge patch that makes ``existing`` suspended (or not) as ``desired`` says (pure).

    ``None`` when they already agree. Lifting a suspension removes ``suspensionReason``.
    """
    want = desired["spec"]
    have = existing.get("spec") or {}
    reason = want.get("suspensionReason") if want["suspended"] else None
    if bool(have.get("suspended")) == want["suspended"] and have.get("suspensionReason") == reason:
        return None
    return {"suspended": want["suspended"], "suspensionReason": reason}


def is_terminating(existing: dict[str, Any]) -> bool:
    """True while the object is being deleted (its environment is going away)."""
    return bool((existing.get("metadata") or {}).get("deletionTimestamp"))


def namespace_is_foreign(labels: dict[str, str] | None, enrollment_name: str) -> bool:
    """True when the enrollment's namespace exists and another owner holds it (pure)."""
    return labels is not None and labels.get(ENROLLMENT) != enrollment_name


def ensure_enrollment(kube: Cluster, desired: dict[str, Any]) -> str:
    """Make the enrollment exist and be suspended as the database says; returns what it did.

    :data:`NAMESPACE_TAKEN`: the object does not exist and its namespace belongs to someone else
    (the caller picks another name); :data:`TERMINATING`: an object of that name is still being
    deleted (try again later).
    """
    name = desired["metadata"]["name"]
    existing = kube.get_enrollment(name)
    if existing is None:
        if namespace_is_foreign(kube.get_namespace_labels(namespace_name(name)), name):
            return NAMESPACE_TAKEN
        if kube.create_enrollment(desired):
            return CREATED
        existing = kube.get_enrollment(name)
        if existing is None:
            return CREATED if kube.create_enrollment(desired) else EXISTS
    if is_terminating(existing):
        return TERMINATING
    patch = spec_patch(existing, desired)
    if patch is None:
        return EXISTS
    kube.patch_enrollment_spec(name, patch)
    return PATCHED


def facts_for_enrollment(db: Session, enrollment: Enrollment) -> EnrollmentFacts:
    """The facts of one enrollment row: its student and its latest granting purchase."""
    user = db.get(User, enrollment.user_id)
    assert user is not None, "an enrollment row always has its user (ON DELETE CASCADE)"
    payment = db.scalars(
        select(Payment)
        .where(Payment.enrollment_id == enrollment.id, Payment.grant == purchases.GRANT)
        .order_by(Payment.id.desc())
        .limit(1)
    ).first()
    return EnrollmentFacts(
        user_id=user.id,
        email=user.email,
        name=user.name,
        username=user.username,
        track=enrollment.track,
        suspended=enrollment.state != purchases.ACTIVE,
        suspension_reason=enrollment.suspension_reason,
        checkout_session_id=payment.checkout_session_id if payment else None,
        payment_intent_id=payment.payment_intent_id if payment else None,
        amount=payment.amount if payment else None,
        currency=payment.currency if payment else None,
        enrollment_name=enrollment.name,
    )
