"""Login sessions: an opaque access token whose hash is stored with its user and expiry.

The same token is the bearer token of API clients and the value of the session cookie of the
pages. Deleting the user deletes its sessions, so a deleted account's token stops working.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from apranova_api.accounts.clock import as_utc
from apranova_api.accounts.models import AccountSession
from apranova_api.accounts.tokens import new_token, token_hash
from apranova_api.models import User


def create_session(session: Session, *, user_id: int, ttl: timedelta, now: datetime) -> str:
    """Store a new login for ``user_id``; return its access token."""
    token = new_token()
    session.add(
        AccountSession(
            user_id=user_id, token_hash=token_hash(token), created_at=now, expires_at=now + ttl
        )
    )
    return token


def user_of_token(session: Session, token: str, now: datetime) -> User | None:
    """The active user whose unexpired session ``token`` is, or None."""
    row = session.execute(
        select(AccountSession, User)
        .join(User, User.id == AccountSession.user_id)
        .where(AccountSession.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    login, user = row
    if as_utc(login.expires_at) <= now or not user.is_active:
        return None
    return user


def end_session(session: Session, token: str) -> None:
    """Log out: forget the session of ``token``."""
    session.execute(delete(AccountSession).where(AccountSession.token_hash == token_hash(token)))


def end_all_sessions(session: Session, user_id: int) -> None:
    """Log the user out everywhere (after a password change)."""
    session.execute(delete(AccountSession).where(AccountSession.user_id == user_id))


def forget_expired_sessions(session: Session, now: datetime) -> None:
    """Delete sessions past their expiry."""
    session.execute(delete(AccountSession).where(AccountSession.expires_at < now))
