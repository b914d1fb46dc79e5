"""Payments: users, payments, processed events, orders, audit log, progress, local checkout.

Revision ID: 0001_payments
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_payments"
down_revision = None
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("track", sa.String(20), nullable=False),
        sa.Column("enrollment_status", sa.String(20), nullable=False),
        sa.Column("suspension_reason", sa.String(200), nullable=True),
        sa.Column("payment_verified", sa.Boolean, nullable=False),
        sa.Column("privacy_accepted", sa.Boolean, nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_payments_user"),
            nullable=True,
        ),
        sa.Column("checkout_session_id", sa.String(255), nullable=False),
        sa.Column("payment_intent_id", sa.String(255), nullable=True),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.UniqueConstraint("checkout_session_id", name="uq_payments_checkout_session"),
    )
    op.create_index("ix_payments_user_id", "payments", ["user_id"])
    op.create_index("ix_payments_payment_intent_id", "payments", ["payment_intent_id"])
    op.create_table(
        "processed_events",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("processed_at", _tz(), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("track", sa.String(20), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(10), nullable=False),
        sa.Column("checkout_session_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.UniqueConstraint("checkout_session_id", name="uq_orders_checkout_session"),
    )
    op.create_table(
        "charge_actions",
        sa.Column("payment_intent_id", sa.String(255), primary_key=True),
        sa.Column("payment_status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_audit_log_user"),
            nullable=True,
        ),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_index("ix_audit_log_user_id", "audit_log", ["user_id"])
    op.create_table(
        "student_progress",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_progress_user"),
            nullable=False,
        ),
        sa.Column("step_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("completed_at", _tz(), nullable=True),
        sa.UniqueConstraint("user_id", "step_id", name="uq_progress_user_step"),
    )
    op.create_table(
        "local_checkout_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("client_reference_id", sa.String(64), nullable=False),
        sa.Column("track", sa.String(20), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(10), nullable=False),
        sa.Column("success_url", sa.Text, nullable=False),
        sa.Column("cancel_url", sa.Text, nullable=False),
        sa.Column("metadata_json", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("payment_status", sa.String(20), nullable=False),
        sa.Column("customer_email", sa.String(320), nullable=True),
        sa.Column("customer_name", sa.String(200), nullable=True),
        sa.Column("payment_intent_id", sa.String(255), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "local_checkout_sessions",
        "student_progress",
        "audit_log",
        "charge_actions",
        "orders",
        "processed_events",
        "payments",
        "users",
    ):
        op.drop_table(table)
