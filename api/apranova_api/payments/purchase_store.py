"""Purchases in the database: what Stripe last said, and the standing it gives each enrollment.

Thin adapter over :mod:`apranova_api.payments.purchases`: it reads rows into plain data, asks
the pure functions, and writes the answers back (the caller commits). Every refresh starts from
the latest stored Stripe state, so running one twice, or after an older event, changes nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.models import (
    ENROLLED,
    SUSPENDED,
    AuditLog,
    ChargeRecord,
    DisputeRecord,
    Enrollment,
    Payment,
    User,
    utcnow,
)
from apranova_api.payments import purchases
from apranova_api.payments.purchases import ChargeFacts, DisputeFacts, EnrollmentStanding
from apranova_contract.names import enrollment_name_candidate

NAME_ATTEMPTS = 50


def save_charge(db: Session, facts: ChargeFacts) -> None:
    """Store the charge as just read from Stripe (insert or replace)."""
    row = db.get(ChargeRecord, facts.id) or ChargeRecord(id=facts.id)
    row.payment_intent_id = facts.payment_intent_id
    row.amount = facts.amount
    row.amount_refunded = facts.amount_refunded
    row.refunded = facts.refunded
    row.updated_at = utcnow()
    db.add(row)


def save_dispute(db: Session, facts: DisputeFacts) -> None:
    """Store the dispute as just read from Stripe (insert or replace)."""
    row = db.get(DisputeRecord, facts.id) or DisputeRecord(id=facts.id)
    row.charge_id = facts.charge_id
    row.payment_intent_id = facts.payment_intent_id
    row.status = facts.status
    row.reason = facts.reason
    row.amount = facts.amount
    row.updated_at = utcnow()
    db.add(row)


def latest_facts(
    db: Session, payment_intent_id: str | None
) -> tuple[ChargeFacts | None, DisputeFacts | None]:
    """The newest stored charge and dispute of a payment intent (either may be missing)."""
    if not payment_intent_id:
        return None, None
    charge = db.scalars(
        select(ChargeRecord)
        .where(ChargeRecord.payment_intent_id == payment_intent_id)
        .order_by(ChargeRecord.updated_at.desc(), ChargeRecord.id)
        .limit(1)
    ).first()
    dispute = db.scalars(
        select(DisputeRecord)
        .where(DisputeRecord.payment_intent_id == payment_intent_id)
        .order_by(DisputeRecord.updated_at.desc(), DisputeRecord.id)
        .limit(1)
    ).first()
    return (
        ChargeFacts(
            charge.id,
            charge.payment_intent_id,
            charge.amount,
            charge.amount_refunded,
            charge.refunded,
        )
        if charge
        else None,
        DisputeFacts(
            dispute.id,
            dispute.charge_id,
            dispute.payment_intent_id,
            dispute.status,
            dispute.amount,
            dispute.reason,
        )
        if dispute
        else None,
    )


def refresh_payment(db: Session, payment: Payment) -> str:
    """Set ``payment.status`` from the latest stored Stripe state; returns it."""
    charge, dispute = latest_facts(db, payment.payment_intent_id)
    payment.status = purchases.payment_status(charge, dispute)
    return payment.status


def standing_of(db: Session, enrollment: Enrollment) -> EnrollmentStanding:
    """The standing of ``enrollment`` from its granting purchases (read only)."""
    grants = list(
        db.scalars(
            select(Payment).where(
                Payment.enrollment_id == enrollment.id, Payment.grant == purchases.GRANT
            )
        )
    )
    dispute_reason = ""
    for payment in grants:
        _charge, dispute = latest_facts(db, payment.payment_intent_id)
        if dispute is not None and payment.status == purchases.DISPUTED:
            dispute_reason = dispute.reason
    return purchases.enrollment_standing(
        [payment.status for payment in grants],
        enrollment.admin_suspension_reason,
        dispute_reason,
    )


def refresh_enrollment(db: Session, enrollment: Enrollment) -> EnrollmentStanding:
    """Store the standing of ``enrollment`` (and the user's one-track summary); returns it.

    An audit row records every change of state.
    """
    standing = standing_of(db, enrollment)
    if (enrollment.state, enrollment.suspension_reason) != (standing.state, standing.reason):
        db.add(
            AuditLog(
                user_id=enrollment.user_id,
                action=f"enrollment_{standing.state.lower()}",
                details={
                    "enrollment": enrollment.name,
                    "track": enrollment.track,
                    "from": enrollment.state,
                    "reason": standing.reason,
                },
            )
        )
        enrollment.state = standing.state
        enrollment.suspension_reason = standing.reason
    db.flush()
    refresh_user_summary(db, enrollment.user_id)
    return standing


def refresh_user_summary(db: Session, user_id: int) -> None:
    """Keep ``users.track``/``enrollment_status``/``suspension_reason`` as the first enrollment.

    These columns are what one-track clients read; the enrollments are the truth.
    """
    user = db.get(User, user_id)
    first = first_enrollment(db, user_id)
    if user is None or first is None:
        return
    user.track = first.track
    user.enrollment_status = ENROLLED if first.state == purchases.ACTIVE else SUSPENDED
    user.suspension_reason = first.suspension_reason


def first_enrollment(db: Session, user_id: int) -> Enrollment | None:
    """The user's oldest enrollment (the one one-track clients see)."""
    return db.scalars(
        select(Enrollment).where(Enrollment.user_id == user_id).order_by(Enrollment.id).limit(1)
    ).first()


def enrollments_of(db: Session, user_id: int) -> list[Enrollment]:
    """Every enrollment of the user, oldest first."""
    return list(
        db.scalars(select(Enrollment).where(Enrollment.user_id == user_id).order_by(Enrollment.id))
    )


def held_enrollments(db: Session, user_id: int) -> list[purchases.HeldEnrollment]:
    """The user's enrollments as the fulfilment decision needs them."""
    return [
        purchases.HeldEnrollment(row.name, row.track, standing_of(db, row))
        for row in enrollments_of(db, user_id)
    ]


def free_enrollment_name(
    db: Session, username: str, track: str, also_taken: frozenset[str] = frozenset()
) -> str:
    """The first name candidate for ``username``'s ``track`` that no enrollment row has.

    ``also_taken`` adds names known to be unusable (a namespace someone else owns). A concurrent
    insert may still take the name; the unique constraint then fails the transaction and the
    retry picks the next candidate.
    """
    candidates = [
        enrollment_name_candidate(username, track, attempt) for attempt in range(NAME_ATTEMPTS)
    ]
    taken = set(db.scalars(select(Enrollment.name).where(Enrollment.name.in_(candidates))))
    for candidate in candidates:
        if candidate not in taken and candidate not in also_taken:
            return candidate
    raise RuntimeError(f"no free enrollment name among {NAME_ATTEMPTS} candidates")
