"""The welcome email, queued inside the transaction that creates the student.

Queuing (not sending) keeps the Stripe webhook independent of the mail server: the outbox sender
delivers the message later and retries it until the SMTP server takes it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from apranova_api.accounts.clock import utc_now
from apranova_api.accounts.models import OutboxMessage

WELCOME = "welcome"
PASSWORD_RESET = "password_reset"
TRACK_ADDED = "track_added"
DUPLICATE_REFUNDED = "duplicate_refunded"


def enqueue_welcome_email(session: Session, user: Any) -> None:
    """Queue the welcome email of ``user`` in ``session``'s transaction (committed with it)."""
    enqueue_email(session, user, WELCOME)


def enqueue_email(session: Session, user: Any, kind: str, track: str | None = None) -> None:
    """Queue an email of ``kind`` for ``user`` (about ``track``, when it concerns one purchase);
    flushes first when the user has no id yet."""
    if user.id is None:
        session.flush()
    now = utc_now()
    session.add(
        OutboxMessage(
            user_id=user.id,
            kind=kind,
            track=track,
            created_at=now,
            next_attempt_at=now,
            attempts=0,
        )
    )
