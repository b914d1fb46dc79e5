"""Accounts: password tokens, sessions, login failures, email outbox.

Revision ID: 0002_accounts
Revises: 0001_payments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_accounts"
down_revision = "0001_payments"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _user_fk(table: str) -> sa.Column:
    return sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE", name=f"fk_{table}_user"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "password_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        _user_fk("password_tokens"),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("expires_at", _tz(), nullable=False),
        sa.Column("used_at", _tz(), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_password_tokens_token_hash"),
    )
    op.create_index("ix_password_tokens_user_id", "password_tokens", ["user_id"])
    op.create_table(
        "account_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        _user_fk("account_sessions"),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("expires_at", _tz(), nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_account_sessions_token_hash"),
    )
    op.create_index("ix_account_sessions_user_id", "account_sessions", ["user_id"])
    op.create_index("ix_account_sessions_expires_at", "account_sessions", ["expires_at"])
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_key", sa.String(320), nullable=False),
        sa.Column("client_key", sa.String(64), nullable=False),
        sa.Column("failed_at", _tz(), nullable=False),
    )
    op.create_index(
        "ix_login_failures_account_key_at", "login_failures", ["account_key", "failed_at"]
    )
    op.create_index(
        "ix_login_failures_client_key_at", "login_failures", ["client_key", "failed_at"]
    )
    op.create_table(
        "email_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        _user_fk("email_outbox"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("next_attempt_at", _tz(), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("sent_at", _tz(), nullable=True),
    )
    op.create_index("ix_email_outbox_user_id", "email_outbox", ["user_id"])
    op.create_index("ix_email_outbox_due", "email_outbox", ["sent_at", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("email_outbox")
    op.drop_table("login_failures")
    op.drop_table("account_sessions")
    op.drop_table("password_tokens")
