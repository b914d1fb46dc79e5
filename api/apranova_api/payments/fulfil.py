"""Fulfilment: a paid checkout session becomes a user, a payment, progress and an enrollment.

One function, :func:`fulfil_checkout_session`, serves the webhook and the verify endpoint. It
re-reads the session from the gateway (an event is only a hint), writes every row in one
transaction guarded by unique constraints, then makes the StudentEnrollment exist. Running it
twice, or twenty times at once, has the effect of running it once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.adapters.kube import KubeRejectedError
from apranova_api.curriculum import TRACKS, load_curriculum
from apranova_api.metrics import ENROLLMENT_SYNCS, FULFILMENTS
from apranova_api.models import (
    ENROLLED,
    ORDER_EXPIRED,
    ORDER_OPEN,
    ORDER_PAID,
    ORDER_PROCESSING,
    PAYMENT_SUCCEEDED,
    PROGRESS_LOCKED,
    PROGRESS_UNLOCKED,
    ROLE_STUDENT,
    SUSPENDED,
    AuditLog,
    ChargeAction,
    Order,
    Payment,
    ProcessedEvent,
    StudentProgress,
    User,
)
from apranova_api.payments.enrollment import desired_enrollment, ensure_enrollment, facts_for_user
from apranova_api.payments.gateway import CheckoutSnapshot, GatewayRejectedError
from apranova_api.payments.parking import (
    CLUSTER,
    STRIPE,
    VALIDATION,
    announce_park,
    park_user_fulfilments,
    record_park,
)
from apranova_api.payments.transactions import run_in_transaction
from apranova_api.services import Services
from apranova_contract.names import username_candidate
from apranova_contract.student_fields import email_problem

USERNAME_ATTEMPTS = 50


@dataclass(frozen=True)
class EventRef:
    """The Stripe event being handled, recorded in ``processed_events``."""

    id: str
    type: str


@dataclass(frozen=True)
class FulfilmentResult:
    """``fulfilled``, ``already_fulfilled``, ``not_paid``, ``rejected`` (parked before any
    write: the session breaks a rule) or ``parked`` (a permanent failure after); the user."""

    outcome: str
    user_id: int | None = None
    reason: str = ""


def rejection_reason(snapshot: CheckoutSnapshot) -> str:
    """Why a paid session cannot become an enrollment, or ``""`` (pure)."""
    if snapshot.metadata.get("anonymous_checkout") != "true":
        return "session was not created by this API (metadata.anonymous_checkout)"
    if snapshot.metadata.get("track") not in TRACKS:
        return f"unknown track {snapshot.metadata.get('track')!r} in session metadata"
    if not snapshot.customer_email or "@" not in snapshot.customer_email:
        return "session has no customer email"
    return email_problem(snapshot.customer_email.strip())


def order_status_after(current: str, snapshot: CheckoutSnapshot) -> str:
    """The order's status once Stripe says ``snapshot`` about its unpaid session (pure).

    Complete but unpaid is a delayed method still settling (``PROCESSING``); ``expired`` ends
    it. A status only moves forward: a failed delayed payment leaves the session ``complete``
    and ``unpaid`` at Stripe, and must stay ``FAILED`` here.
    """
    if snapshot.status == "expired" and current in (ORDER_OPEN, ORDER_PROCESSING):
        return ORDER_EXPIRED
    if snapshot.status == "complete" and current == ORDER_OPEN:
        return ORDER_PROCESSING
    return current


def progress_rows(user_id: int, track: str) -> list[StudentProgress]:
    """Every step of the track: the first project's unlocked, the rest locked (pure)."""
    curriculum = load_curriculum(track)
    first = {step.id for step in curriculum.first_project.steps}
    return [
        StudentProgress(
            user_id=user_id,
            step_id=step_id,
            status=PROGRESS_UNLOCKED if step_id in first else PROGRESS_LOCKED,
        )
        for step_id in curriculum.step_ids()
    ]


def free_username(db: Session, email: str) -> str:
    """The first username candidate for ``email`` not taken yet.

    A concurrent insert may still take it first; the unique constraint then fails the
    transaction and the retry picks the next candidate.
    """
    candidates = [username_candidate(email, attempt) for attempt in range(USERNAME_ATTEMPTS)]
    taken = set(db.scalars(select(User.username).where(User.username.in_(candidates))))
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    raise RuntimeError(f"no free username among {USERNAME_ATTEMPTS} candidates")


def _enqueue_welcome_email(db: Session, user: User) -> None:
    # Imported when used: the welcome email (an outbox row) belongs to the accounts part.
    from apranova_api.accounts.welcome import enqueue_welcome_email

    enqueue_welcome_email(db, user)


def _create_user(db: Session, snapshot: CheckoutSnapshot, email: str, track: str) -> User:
    user = User(
        email=email,
        name=(snapshot.customer_name or "").strip()[:200],
        username=free_username(db, email),
        role=ROLE_STUDENT,
        track=track,
        enrollment_status=ENROLLED,
        payment_verified=True,
        privacy_accepted=True,
        password_hash=None,
        is_active=True,
    )
    db.add(user)
    db.flush()
    db.add_all(progress_rows(user.id, track))
    db.add(AuditLog(user_id=user.id, action="user_created", details={"source": "checkout"}))
    _enqueue_welcome_email(db, user)
    return user


def _record_unpaid(db: Session, snapshot: CheckoutSnapshot) -> None:
    order = db.get(Order, snapshot.client_reference_id) if snapshot.client_reference_id else None
    if order is None:
        return
    order.status = order_status_after(order.status, snapshot)
    if snapshot.customer_email:
        order.customer_email = snapshot.customer_email.strip()[:320]


def record_fulfilment(
    db: Session, snapshot: CheckoutSnapshot, event: EventRef | None
) -> FulfilmentResult:
    """Write the rows of a fulfilment in ``db`` (the caller commits)."""
    if event is not None and db.get(ProcessedEvent, event.id) is None:
        db.add(ProcessedEvent(id=event.id, type=event.type))
        db.flush()
    existing = db.scalars(select(Payment).where(Payment.checkout_session_id == snapshot.id)).first()
    if existing is not None:
        return FulfilmentResult("already_fulfilled", existing.user_id)
    if not snapshot.paid:
        _record_unpaid(db, snapshot)
        return FulfilmentResult("not_paid", reason=f"payment_status={snapshot.payment_status}")
    reason = rejection_reason(snapshot)
    if reason:
        new = record_park(db, snapshot.id, None, VALIDATION, reason)
        return FulfilmentResult("rejected", reason=reason if new else "")
    email = (snapshot.customer_email or "").strip().lower()
    track = snapshot.metadata["track"]
    user = db.scalars(select(User).where(User.email == email)).first()
    if user is None:
        user = _create_user(db, snapshot, email, track)
    else:
        db.add(
            AuditLog(
                user_id=user.id,
                action="payment_for_existing_user",
                details={"checkout_session_id": snapshot.id, "track": track},
            )
        )
    payment = Payment(
        user_id=user.id,
        checkout_session_id=snapshot.id,
        payment_intent_id=snapshot.payment_intent_id,
        amount=snapshot.amount_total,
        currency=snapshot.currency,
        status=PAYMENT_SUCCEEDED,
        email=email,
    )
    db.add(payment)
    db.add(
        AuditLog(
            user_id=user.id,
            action="payment_succeeded",
            details={
                "checkout_session_id": snapshot.id,
                "payment_intent_id": snapshot.payment_intent_id,
                "amount": snapshot.amount_total,
                "currency": snapshot.currency,
                "track": track,
            },
        )
    )
    if snapshot.client_reference_id:
        order = db.get(Order, snapshot.client_reference_id)
        if order is not None:
            order.status = ORDER_PAID
            order.checkout_session_id = snapshot.id
    early = db.get(ChargeAction, snapshot.payment_intent_id) if snapshot.payment_intent_id else None
    if early is not None:
        payment.status = early.payment_status
        user.enrollment_status = SUSPENDED
        user.suspension_reason = early.reason
        db.add(
            AuditLog(
                user_id=user.id,
                action="enrollment_suspended",
                details={"reason": early.reason, "payment_intent_id": early.payment_intent_id},
            )
        )
    db.flush()
    return FulfilmentResult("fulfilled", user.id)


def sync_enrollment(services: Services, user_id: int) -> str:
    """Make the user's StudentEnrollment match the database; returns what it did.

    Raises ``KubeUnavailableError`` when the cluster is down (temporary). When the cluster
    refuses the enrollment for good (``KubeRejectedError``: 4xx), the user's fulfilments are
    parked and ``"parked"`` is returned: nothing is retried, nothing else stops.
    """
    with services.sessions() as db:
        user = db.get(User, user_id)
        if user is None:
            return "no_user"
        facts = facts_for_user(db, user)
    try:
        result = ensure_enrollment(
            services.kube, desired_enrollment(facts, services.settings.ENROLLMENT_LABELS)
        )
    except KubeRejectedError as error:
        park_user_fulfilments(services, user_id, CLUSTER, str(error))
        result = "parked"
    ENROLLMENT_SYNCS.labels(result=result).inc()
    return result


def fulfil_checkout_session(
    services: Services, session_id: str, event: EventRef | None = None
) -> FulfilmentResult:
    """Fulfil ``session_id`` if paid and not yet fulfilled; always sync the enrollment after.

    Raises :class:`~apranova_api.payments.gateway.GatewayUnavailableError` or
    :class:`~apranova_api.adapters.kube.KubeUnavailableError` when a retry later can succeed, and
    :class:`~apranova_api.payments.gateway.SessionNotFoundError` for an unknown session.
    Permanent failures (Stripe refusing the read, the session breaking a rule, the cluster
    refusing the enrollment) park the fulfilment and return ``rejected`` or ``parked``.
    """
    try:
        snapshot = services.gateway.retrieve_session(session_id)
    except GatewayRejectedError as error:
        reason = str(error)
        if run_in_transaction(
            services.sessions, lambda db: record_park(db, session_id, None, STRIPE, reason)
        ):
            announce_park(session_id, STRIPE, reason)
        FULFILMENTS.labels(outcome="parked").inc()
        return FulfilmentResult("parked", reason=reason)
    result = run_in_transaction(
        services.sessions, lambda db: record_fulfilment(db, snapshot, event)
    )
    FULFILMENTS.labels(outcome=result.outcome).inc()
    if result.outcome == "rejected" and result.reason:
        announce_park(session_id, VALIDATION, result.reason)
    if result.user_id is not None and sync_enrollment(services, result.user_id) == "parked":
        return FulfilmentResult("parked", result.user_id, "the cluster refused the enrollment")
    return result
