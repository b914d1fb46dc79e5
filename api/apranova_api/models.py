"""The tables of the payment-first enrollment flow.

Uniqueness is what makes fulfilment safe to run many times at once: a Stripe event id is
processed once (``processed_events``), a checkout session pays once (``payments``), an email
owns one account (``users``), a student holds one enrollment per track (``enrollments``).
Concurrent writers lose on the constraint and retry, never duplicate.

A purchase (a row of ``payments``) grants one enrollment (``grant``), or is a duplicate of a
track already held (``duplicate``, refunded). What Stripe last said about its charge and dispute
is kept in ``charges`` and ``disputes``, whether or not the purchase is fulfilled yet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apranova_api.db import Base
from apranova_api.payments import purchases

ROLE_STUDENT = "student"
ENROLLED = "ENROLLED"
SUSPENDED = "SUSPENDED"

ORDER_OPEN = "OPEN"
ORDER_PROCESSING = "PROCESSING"
ORDER_PAID = "PAID"
ORDER_FAILED = "FAILED"
ORDER_EXPIRED = "EXPIRED"

PROGRESS_LOCKED = "locked"
PROGRESS_UNLOCKED = "unlocked"
PROGRESS_DONE = "done"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class User(Base):
    """A student account; only ever created by fulfilling a paid checkout."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str] = mapped_column(String(40), unique=True)
    role: Mapped[str] = mapped_column(String(20), default=ROLE_STUDENT)
    track: Mapped[str] = mapped_column(String(20))
    enrollment_status: Mapped[str] = mapped_column(String(20), default=ENROLLED)
    suspension_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    payment_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    privacy_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    payments: Mapped[list[Payment]] = relationship(back_populates="user", passive_deletes=True)
    enrollments: Mapped[list[Enrollment]] = relationship(
        order_by="Enrollment.id", passive_deletes=True
    )


class Enrollment(Base):
    """One track a student holds: one StudentEnrollment named ``name``.

    ``state`` and ``suspension_reason`` are derived (:func:`purchases.enrollment_standing`) from
    the purchases that grant it and ``admin_suspension_reason`` (support's suspension), and kept
    here so lists and the repair loop need not recompute them.
    """

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("user_id", "track", name="uq_enrollments_user_track"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    track: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(63), unique=True)
    state: Mapped[str] = mapped_column(String(20), default=purchases.ACTIVE)
    suspension_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    admin_suspension_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Payment(Base):
    """One paid checkout session. Kept, anonymised, when its user is deleted."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    checkout_session_id: Mapped[str] = mapped_column(String(255), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default=purchases.SUCCEEDED)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    track: Mapped[str | None] = mapped_column(String(20), nullable=True)
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="SET NULL"), nullable=True, index=True
    )
    grant: Mapped[str] = mapped_column(String(20), default=purchases.GRANT)
    refund_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    """Our refund of a duplicate purchase, once Stripe has accepted it."""

    user: Mapped[User | None] = relationship(back_populates="payments")


class ChargeRecord(Base):
    """A Stripe charge as last read from Stripe (amounts in the currency's minor unit)."""

    __tablename__ = "charges"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    amount: Mapped[int] = mapped_column(Integer)
    amount_refunded: Mapped[int] = mapped_column(Integer)
    refunded: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DisputeRecord(Base):
    """A Stripe dispute (or inquiry) as last read from Stripe."""

    __tablename__ = "disputes"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    charge_id: Mapped[str] = mapped_column(String(255), index=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProcessedEvent(Base):
    """A Stripe event already handled; the primary key makes a second delivery a no-op."""

    __tablename__ = "processed_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Order(Base):
    """Our side of a checkout: its id is the session's ``client_reference_id``."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    track: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(10))
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=ORDER_OPEN)
    failure_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    customer_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    stripe_checked_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class ParkedFulfilment(Base):
    """A paid checkout that cannot be served: a permanent failure, kept with its reason.

    Written when the session's data breaks a rule or the cluster refuses the enrollment for good
    (HTTP 4xx). Verify answers ``rejected``; the repair pass skips the student instead of
    failing on them again; support settles the money (see README, section api).
    """

    __tablename__ = "parked_fulfilments"

    checkout_session_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    source: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditLog(Base):
    """What happened to whom, for support and disputes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    action: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StudentProgress(Base):
    """A student's state for one curriculum step."""

    __tablename__ = "student_progress"
    __table_args__ = (UniqueConstraint("user_id", "step_id", name="uq_progress_user_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=PROGRESS_LOCKED)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LocalCheckoutSession(Base):
    """A checkout session of the offline gateway (no Stripe account)."""

    __tablename__ = "local_checkout_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_reference_id: Mapped[str] = mapped_column(String(64))
    track: Mapped[str] = mapped_column(String(20))
    product_name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(10))
    success_url: Mapped[str] = mapped_column(Text)
    cancel_url: Mapped[str] = mapped_column(Text)
    metadata_json: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")
    payment_status: Mapped[str] = mapped_column(String(20), default="unpaid")
    customer_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    customer_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
