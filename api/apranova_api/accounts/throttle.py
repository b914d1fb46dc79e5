"""Login throttling: too many recent failures for one account or one client means wait.

The decision is a pure function of the failure times; the failures themselves live in the
database so every API process sees the same counts. A successful login clears the account's
failures; failures older than the window are deleted (they hold email addresses).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from apranova_api.accounts.clock import as_utc
from apranova_api.accounts.models import LoginFailure


def retry_after_seconds(
    failures: Sequence[datetime], now: datetime, limit: int, window: timedelta
) -> int | None:
    """Seconds to wait when ``limit`` failures fell inside ``window`` before ``now``, else None.

    The wait ends when the oldest failure that still counts towards the limit leaves the window.
    """
    recent = sorted(as_utc(at) for at in failures if as_utc(at) > now - window)
    if len(recent) < limit:
        return None
    blocking = recent[len(recent) - limit]
    return max(1, math.ceil((blocking + window - now).total_seconds()))


def account_key(email: str) -> str:
    """The throttling key of an account: its email address, case-folded."""
    return email.strip().lower()


def failures_of_account(session: Session, account: str, since: datetime) -> list[datetime]:
    """Times of the account's failed logins since ``since``."""
    query = select(LoginFailure.failed_at).where(
        LoginFailure.account_key == account, LoginFailure.failed_at > since
    )
    return list(session.scalars(query))


def failures_of_client(session: Session, client: str, since: datetime) -> list[datetime]:
    """Times of the client's failed logins since ``since``, whatever account they tried."""
    query = select(LoginFailure.failed_at).where(
        LoginFailure.client_key == client, LoginFailure.failed_at > since
    )
    return list(session.scalars(query))


def record_failure(session: Session, *, account: str, client: str, now: datetime) -> None:
    """Store one failed login."""
    session.add(LoginFailure(account_key=account, client_key=client, failed_at=now))


def clear_account_failures(session: Session, account: str) -> None:
    """Forget the account's failures (after a successful login or on account deletion)."""
    session.execute(delete(LoginFailure).where(LoginFailure.account_key == account))


def forget_old_failures(session: Session, before: datetime) -> None:
    """Delete failures that no longer count."""
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at < before))
