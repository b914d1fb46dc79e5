"""Payment states: order reasons and Stripe checks, parked fulfilments, notices to buyers.

Revision ID: 0003_payment_states
Revises: 0002_accounts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_payment_states"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as orders:
        orders.add_column(sa.Column("failure_reason", sa.String(500), nullable=True))
        orders.add_column(sa.Column("customer_email", sa.String(320), nullable=True))
        orders.add_column(sa.Column("stripe_checked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "parked_fulfilments",
        sa.Column("checkout_session_id", sa.String(255), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_parked_fulfilments_user"),
            nullable=True,
        ),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_parked_fulfilments_user_id", "parked_fulfilments", ["user_id"])
    with op.batch_alter_table("email_outbox") as outbox:
        outbox.alter_column("user_id", existing_type=sa.Integer, nullable=True)
        outbox.add_column(sa.Column("recipient", sa.String(320), nullable=True))
        outbox.add_column(sa.Column("details", sa.JSON, nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM email_outbox WHERE user_id IS NULL")
    with op.batch_alter_table("email_outbox") as outbox:
        outbox.drop_column("details")
        outbox.drop_column("recipient")
        outbox.alter_column("user_id", existing_type=sa.Integer, nullable=False)
    op.drop_table("parked_fulfilments")
    with op.batch_alter_table("orders") as orders:
        orders.drop_column("stripe_checked_at")
        orders.drop_column("customer_email")
        orders.drop_column("failure_reason")
