"""Emails to buyers who have no account: queued in the outbox inside the caller's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from apranova_api.accounts.clock import utc_now
from apranova_api.accounts.models import OutboxMessage

PAYMENT_FAILED = "payment_failed"


def enqueue_payment_failed_notice(
    db: Session, email: str, name: str, track: str, reason: str
) -> None:
    """Queue "your payment did not go through" to ``email`` (sent by the outbox sender)."""
    now = utc_now()
    db.add(
        OutboxMessage(
            user_id=None,
            recipient=email,
            details={"name": name, "track": track, "reason": reason},
            kind=PAYMENT_FAILED,
            created_at=now,
            next_attempt_at=now,
            attempts=0,
        )
    )
