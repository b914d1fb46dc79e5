"""Fulfilment: a paid checkout session becomes a purchase that grants one enrollment.

One function, :func:`fulfil_checkout_session`, serves the webhook and the verify endpoint. It
re-reads the session from the gateway (an event is only a hint), writes every row in one
transaction guarded by unique constraints, then makes the StudentEnrollment exist and, for a
duplicate purchase, gives the money back. Running it twice, or twenty times at once, has the
effect of running it once.

What a purchase does is decided by :func:`apranova_api.payments.purchases.decide_fulfilment`:
a track the student does not hold gets a new enrollment; a track held and lost (refunded, lost
dispute) is reinstated; a track held and paid for is refunded (Stripe's Refunds API, reason
``duplicate``, an idempotency key derived from the payment) and the student is told by email.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

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
    PROGRESS_LOCKED,
    PROGRESS_UNLOCKED,
    ROLE_STUDENT,
    AuditLog,
    Enrollment,
    Order,
    Payment,
    ProcessedEvent,
    StudentProgress,
    User,
)
from apranova_api.payments import purchases
from apranova_api.payments.enrollment import (
    NAMESPACE_TAKEN,
    desired_enrollment,
    ensure_enrollment,
    facts_for_enrollment,
)
from apranova_api.payments.gateway import CheckoutSnapshot, GatewayRejectedError, RefundRequest
from apranova_api.payments.parking import (
    CLUSTER,
    STRIPE,
    VALIDATION,
    announce_park,
    park_user_fulfilments,
    record_park,
)
from apranova_api.payments.purchase_store import (
    free_enrollment_name,
    held_enrollments,
    refresh_enrollment,
    refresh_payment,
)
from apranova_api.payments.transactions import run_in_transaction
from apranova_api.services import Services
from apranova_contract.names import namespace_name, username_candidate
from apranova_contract.student_fields import email_problem

USERNAME_ATTEMPTS = 50
RENAME_ATTEMPTS = 5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventRef:
    """The Stripe event being handled, recorded in ``processed_events``."""

    id: str
    type: str


@dataclass(frozen=True)
class FulfilmentResult:
    """``fulfilled``, ``already_fulfilled``, ``not_paid``, ``rejected`` (parked before any
    write: the session breaks a rule) or ``parked`` (a permanent failure after); the rows it
    concerns.

    ``refund_due``: the purchase is a duplicate whose refund Stripe has not accepted yet.
    """

    outcome: str
    user_id: int | None = None
    reason: str = ""
    enrollment_id: int | None = None
    payment_id: int | None = None
    refund_due: bool = False


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


def _enqueue(db: Session, user: User, kind: str, track: str | None = None) -> None:
    # Imported when used: the emails (outbox rows) belong to the accounts part.
    from apranova_api.accounts.welcome import enqueue_email

    enqueue_email(db, user, kind, track)


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
    db.add(AuditLog(user_id=user.id, action="user_created", details={"source": "checkout"}))
    return user


def _add_progress(db: Session, user_id: int, track: str) -> None:
    """The track's progress rows the student does not have yet (a re-purchase keeps progress)."""
    have = set(
        db.scalars(select(StudentProgress.step_id).where(StudentProgress.user_id == user_id))
    )
    db.add_all(row for row in progress_rows(user_id, track) if row.step_id not in have)


def _grant(
    db: Session, user: User, track: str, decision: purchases.FulfilmentDecision
) -> Enrollment:
    """The enrollment the purchase concerns: new, reinstated or the one already held."""
    if decision.action == purchases.NEW_ENROLLMENT:
        enrollment = Enrollment(
            user_id=user.id,
            track=track,
            name=free_enrollment_name(db, user.username, track),
            state=purchases.ACTIVE,
        )
        db.add(enrollment)
        db.flush()
        _add_progress(db, user.id, track)
        return enrollment
    found = db.scalars(select(Enrollment).where(Enrollment.name == decision.enrollment_name)).one()
    return found


def _email_for_purchase(db: Session, user: User, created: bool, track: str, action: str) -> None:
    """Welcome a new student; tell one with an account where the new track is.

    A student who has not chosen a password yet gets the welcome (with its set-password link)
    again; one who has gets no second set-password link. Duplicates are told after the refund.
    """
    from apranova_api.accounts.welcome import TRACK_ADDED, WELCOME

    if action == purchases.REFUND_DUPLICATE:
        return
    if created or user.password_hash is None:
        _enqueue(db, user, WELCOME, None if created else track)
    else:
        _enqueue(db, user, TRACK_ADDED, track)


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
        return FulfilmentResult(
            "already_fulfilled",
            existing.user_id,
            enrollment_id=existing.enrollment_id,
            payment_id=existing.id,
            refund_due=existing.grant == purchases.DUPLICATE and existing.refund_id is None,
        )
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
    created = user is None
    if user is None:
        user = _create_user(db, snapshot, email, track)
    decision = purchases.decide_fulfilment(track, held_enrollments(db, user.id))
    enrollment = _grant(db, user, track, decision)
    duplicate = decision.action == purchases.REFUND_DUPLICATE
    payment = Payment(
        user_id=user.id,
        checkout_session_id=snapshot.id,
        payment_intent_id=snapshot.payment_intent_id,
        amount=snapshot.amount_total,
        currency=snapshot.currency,
        status=purchases.SUCCEEDED,
        email=email,
        track=track,
        enrollment_id=enrollment.id,
        grant=purchases.DUPLICATE if duplicate else purchases.GRANT,
    )
    db.add(payment)
    refresh_payment(db, payment)
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
                "enrollment": enrollment.name,
                "decision": decision.action,
            },
        )
    )
    if snapshot.client_reference_id:
        order = db.get(Order, snapshot.client_reference_id)
        if order is not None:
            order.status = ORDER_PAID
            order.checkout_session_id = snapshot.id
    db.flush()
    refresh_enrollment(db, enrollment)
    _email_for_purchase(db, user, created, track, decision.action)
    db.flush()
    return FulfilmentResult(
        "fulfilled",
        user.id,
        enrollment_id=enrollment.id,
        payment_id=payment.id,
        refund_due=duplicate,
    )


def _rename(db: Session, enrollment_id: int, unusable: str) -> None:
    """Give an enrollment whose namespace someone else owns the next free name."""
    enrollment = db.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.name != unusable:
        return
    user = db.get(User, enrollment.user_id)
    assert user is not None
    enrollment.name = free_enrollment_name(
        db, user.username, enrollment.track, frozenset({unusable})
    )
    db.add(
        AuditLog(
            user_id=user.id,
            action="enrollment_renamed",
            details={"from": unusable, "to": enrollment.name, "why": "namespace not ours"},
        )
    )


def sync_enrollment(services: Services, enrollment_id: int) -> str:
    """Make one enrollment's StudentEnrollment match the database; returns what it did.

    A namespace ``student-<name>`` that someone else owns never strands the payer: the
    enrollment (not yet created under that name) gets the next free name. Raises
    :class:`~apranova_api.adapters.kube.KubeUnavailableError` when the cluster is down
    (temporary). When the cluster refuses the enrollment for good (``KubeRejectedError``: 4xx),
    the student's fulfilments are parked and ``"parked"`` is returned: nothing else stops.
    """
    result = "no_enrollment"
    for _attempt in range(RENAME_ATTEMPTS):
        with services.sessions() as db:
            enrollment = db.get(Enrollment, enrollment_id)
            if enrollment is None:
                return "no_enrollment"
            facts = facts_for_enrollment(db, enrollment)
        desired = desired_enrollment(facts, services.settings.ENROLLMENT_LABELS)
        try:
            result = ensure_enrollment(services.kube, desired)
        except KubeRejectedError as error:
            park_user_fulfilments(services, facts.user_id, CLUSTER, str(error))
            result = "parked"
        ENROLLMENT_SYNCS.labels(result=result).inc()
        if result != NAMESPACE_TAKEN:
            return result
        name = desired["metadata"]["name"]
        log.warning("namespace %s is not ours; renaming enrollment %s", namespace_name(name), name)
        run_in_transaction(
            services.sessions, partial(_rename, enrollment_id=enrollment_id, unusable=name)
        )
    return result


def _record_refund(db: Session, payment_id: int, refund_id: str) -> None:
    from apranova_api.accounts.welcome import DUPLICATE_REFUNDED

    payment = db.get(Payment, payment_id)
    if payment is None or payment.refund_id is not None:
        return
    payment.refund_id = refund_id
    db.add(
        AuditLog(
            user_id=payment.user_id,
            action="duplicate_refunded",
            details={
                "checkout_session_id": payment.checkout_session_id,
                "payment_intent_id": payment.payment_intent_id,
                "refund_id": refund_id,
                "amount": payment.amount,
                "track": payment.track,
                "reason": "duplicate",
            },
        )
    )
    user = db.get(User, payment.user_id) if payment.user_id else None
    if user is not None:
        _enqueue(db, user, DUPLICATE_REFUNDED, payment.track)


def refund_duplicate(services: Services, payment_id: int) -> str | None:
    """Refund a duplicate purchase in full, once; returns the refund id (``None``: nothing due).

    The idempotency key derives from the payment, so a retry after a crash or an outage never
    refunds twice. Raises :class:`~apranova_api.payments.gateway.GatewayUnavailableError`.
    """
    with services.sessions() as db:
        payment = db.get(Payment, payment_id)
        if payment is None or payment.grant != purchases.DUPLICATE or payment.refund_id:
            return None
        if not payment.payment_intent_id:
            log.error("duplicate purchase %s has no payment intent to refund", payment_id)
            return None
        request = RefundRequest(
            payment_intent_id=payment.payment_intent_id,
            reason="duplicate",
            idempotency_key=purchases.duplicate_refund_key(
                payment.payment_intent_id, payment.checkout_session_id
            ),
            metadata={
                "track": payment.track or "",
                "checkout_session_id": payment.checkout_session_id,
            },
        )
    try:
        refund_id = services.gateway.create_refund(request)
    except GatewayRejectedError as error:
        # Permanent (e.g. support refunded it already): the charge event will say so.
        log.warning("Stripe refused the refund of duplicate purchase %s: %s", payment_id, error)
        return None
    run_in_transaction(services.sessions, lambda db: _record_refund(db, payment_id, refund_id))
    return refund_id


def fulfil_checkout_session(
    services: Services, session_id: str, event: EventRef | None = None
) -> FulfilmentResult:
    """Fulfil ``session_id`` if paid and not yet fulfilled; then sync its enrollment and refund
    a duplicate.

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
    if result.refund_due and result.payment_id is not None:
        refund_duplicate(services, result.payment_id)
    if result.enrollment_id is not None and (
        sync_enrollment(services, result.enrollment_id) == "parked"
    ):
        return FulfilmentResult("parked", result.user_id, "the cluster refused the enrollment")
    return result
