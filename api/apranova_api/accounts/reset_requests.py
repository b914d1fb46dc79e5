"""Password-reset requests: at most one email a minute per account, and never a silent drop.

A request within a minute of the previous reset email is queued to go out when the minute is
over (the page's "a link is on its way" stays true); while a reset email is still waiting to be
sent, a further request adds nothing. The timing is a pure function of the earlier messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from apranova_api.accounts.clock import as_utc
from apranova_api.accounts.models import OutboxMessage
from apranova_api.accounts.welcome import PASSWORD_RESET
from apranova_api.models import User

RESET_EMAIL_INTERVAL = timedelta(minutes=1)


def next_reset_due(
    previous: Sequence[tuple[datetime, datetime | None]],
    now: datetime,
    interval: timedelta = RESET_EMAIL_INTERVAL,
) -> datetime | None:
    """When a new reset email should go out, or None when one is still waiting to be sent.

    ``previous`` holds ``(created_at, sent_at)`` of the account's earlier reset emails (pure).
    """
    if any(sent_at is None for _, sent_at in previous):
        return None
    latest = max((as_utc(created_at) for created_at, _ in previous), default=None)
    if latest is None or latest + interval <= now:
        return now
    return latest + interval


def queue_password_reset(session: Session, user: User, now: datetime) -> None:
    """Queue a reset email for ``user`` in this transaction, due per :func:`next_reset_due`."""
    rows = session.execute(
        select(OutboxMessage.created_at, OutboxMessage.sent_at).where(
            OutboxMessage.user_id == user.id,
            OutboxMessage.kind == PASSWORD_RESET,
            or_(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.created_at > now - RESET_EMAIL_INTERVAL,
            ),
        )
    ).all()
    due = next_reset_due([(row.created_at, row.sent_at) for row in rows], now)
    if due is not None:
        session.add(
            OutboxMessage(
                user_id=user.id,
                kind=PASSWORD_RESET,
                created_at=now,
                next_attempt_at=due,
                attempts=0,
            )
        )
