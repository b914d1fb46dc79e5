"""One-time, expiring set-password tokens: issued when an email is sent, consumed once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from apranova_api.accounts.clock import as_utc
from apranova_api.accounts.models import PasswordToken
from apranova_api.accounts.tokens import new_token, token_hash

PURPOSE_SET_PASSWORD = "set_password"
PURPOSE_RESET = "reset"


class TokenRefusal(StrEnum):
    """Why a token cannot be used; the value is the message shown to the student."""

    UNKNOWN = "This link is not valid. Use the newest link from your email or ask for a new one."
    USED = "This link has already been used. Log in, or ask for a new link."
    EXPIRED = "This link has expired. Ask for a new one on the login page."


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of looking a token up: the user it belongs to, or why it is refused."""

    user_id: int | None
    refusal: TokenRefusal | None


def issue_password_token(
    session: Session, *, user_id: int, purpose: str, ttl: timedelta, now: datetime
) -> str:
    """Store the hash of a fresh token and return the token itself (to put in one email)."""
    token = new_token()
    session.add(
        PasswordToken(
            user_id=user_id,
            token_hash=token_hash(token),
            purpose=purpose,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return token


def judge_token(row: PasswordToken | None, now: datetime) -> TokenCheck:
    """Whether a stored token may be used at ``now`` (pure)."""
    if row is None:
        return TokenCheck(None, TokenRefusal.UNKNOWN)
    if row.used_at is not None:
        return TokenCheck(None, TokenRefusal.USED)
    if as_utc(row.expires_at) <= now:
        return TokenCheck(None, TokenRefusal.EXPIRED)
    return TokenCheck(row.user_id, None)


def check_password_token(session: Session, token: str, now: datetime) -> TokenCheck:
    """Look ``token`` up without using it."""
    row = session.scalars(
        select(PasswordToken).where(PasswordToken.token_hash == token_hash(token))
    ).first()
    return judge_token(row, now)


def consume_password_token(session: Session, token: str, now: datetime) -> TokenCheck:
    """Use ``token`` once; a concurrent second use loses on the ``used_at IS NULL`` guard.

    Every other outstanding token of the same user is used up too, so an older link from an
    earlier email cannot set the password again.
    """
    check = check_password_token(session, token, now)
    if check.user_id is None:
        return check
    result = session.execute(
        update(PasswordToken)
        .where(PasswordToken.token_hash == token_hash(token), PasswordToken.used_at.is_(None))
        .values(used_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return TokenCheck(None, TokenRefusal.USED)
    session.execute(
        update(PasswordToken)
        .where(PasswordToken.user_id == check.user_id, PasswordToken.used_at.is_(None))
        .values(used_at=now)
    )
    return check
