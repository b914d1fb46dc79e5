"""The accounts tables: one-time password tokens, sessions, login failures and the email outbox.

Secrets are never stored: password tokens and session tokens are kept as SHA-256 hashes, so a
copy of the database cannot be used to log in or to set a password. Rows that belong to a user
go with the user (``ON DELETE CASCADE``), which is what makes a deleted account's token useless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from apranova_api.db import Base

TOKEN_HASH_LENGTH = 64
"""Hex length of a SHA-256 digest."""


class PasswordToken(Base):
    """A one-time, expiring token that lets its holder set the user's password."""

    __tablename__ = "password_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), unique=True, nullable=False)
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AccountSession(Base):
    """A login: the hash of the access token that the cookie and the bearer header carry."""

    __tablename__ = "account_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), index=True, nullable=False
    )


class LoginFailure(Base):
    """A failed login, kept for the failure window so throttling works across processes."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_account_key_at", "account_key", "failed_at"),
        Index("ix_login_failures_client_key_at", "client_key", "failed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_key: Mapped[str] = mapped_column(String(320), nullable=False)
    client_key: Mapped[str] = mapped_column(String(64), nullable=False)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class OutboxMessage(Base):
    """An email to send. The body is composed at send time, so no token waits here in clear.

    A message to a student has ``user_id``; a payment notice to a buyer without an account (a
    delayed payment that failed) has ``recipient`` and ``details`` instead.
    """

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_due", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=True
    )
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    track: Mapped[str | None] = mapped_column(String(20), nullable=True)
    """The track a purchase email is about (``None``: the student's first track)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
