"""Purchases grant enrollments: ``enrollments``, ``charges``, ``disputes``; payments per track.

Carries the rows of the one-track model over, as follows:

- every user gets an enrollment of their ``users.track`` named after the username (the name
  its StudentEnrollment already has, so the object, its namespace and data stay as they are);
- every payment gets its track (its order's, else the user's) and an enrollment: the first
  payment of each (user, track) grants it, later ones are ``duplicate`` (their refund is then
  issued by the API's repair loop, with an idempotency key derived from the payment, unless the
  payment is already refunded); a paid track the user never got (the bug this revision fixes)
  gets a new enrollment named ``<username>-<track>``, which the repair loop then creates;
- queued emails get the track they are about (``email_outbox.track``; empty: the first track);
- what the old rows knew of refunds and disputes becomes ``charges``/``disputes`` rows with
  ids ``legacy-<payment intent>``: a refunded payment a fully refunded charge, a disputed one an
  open dispute; any newer state Stripe reports later replaces them. ``charge_actions`` (refunds
  and disputes that came before their fulfilment) is converted the same way and dropped.

Revision ID: 0004_purchases
Revises: 0003_payment_states
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from apranova_contract.names import enrollment_name_candidate

revision = "0004_purchases"
down_revision = "0003_payment_states"
branch_labels = None
depends_on = None

NAME_ATTEMPTS = 50


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _create_tables() -> None:
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_enrollments_user"),
            nullable=False,
        ),
        sa.Column("track", sa.String(20), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("suspension_reason", sa.String(200), nullable=True),
        sa.Column("admin_suspension_reason", sa.String(200), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.UniqueConstraint("user_id", "track", name="uq_enrollments_user_track"),
        sa.UniqueConstraint("name", name="uq_enrollments_name"),
    )
    op.create_index("ix_enrollments_user_id", "enrollments", ["user_id"])
    op.create_table(
        "charges",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("payment_intent_id", sa.String(255), nullable=True),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("amount_refunded", sa.Integer, nullable=False),
        sa.Column("refunded", sa.Boolean, nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
    )
    op.create_index("ix_charges_payment_intent_id", "charges", ["payment_intent_id"])
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("charge_id", sa.String(255), nullable=False),
        sa.Column("payment_intent_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
    )
    op.create_index("ix_disputes_charge_id", "disputes", ["charge_id"])
    op.create_index("ix_disputes_payment_intent_id", "disputes", ["payment_intent_id"])
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("track", sa.String(20), nullable=True))
        batch.add_column(
            sa.Column(
                "enrollment_id",
                sa.Integer,
                sa.ForeignKey("enrollments.id", ondelete="SET NULL", name="fk_payments_enrollment"),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("grant", sa.String(20), nullable=False, server_default="grant"))
        batch.add_column(sa.Column("refund_id", sa.String(255), nullable=True))
        batch.create_index("ix_payments_enrollment_id", ["enrollment_id"])
    with op.batch_alter_table("payments") as batch:
        batch.alter_column("grant", server_default=None)
    with op.batch_alter_table("email_outbox") as batch:
        batch.add_column(sa.Column("track", sa.String(20), nullable=True))


def _inserted_id(result: sa.CursorResult[object]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "an INSERT of one row reports its primary key"
    return int(key[0])


def _free_name(taken: set[str], username: str, track: str) -> str:
    for attempt in range(NAME_ATTEMPTS):
        candidate = enrollment_name_candidate(username, track, attempt)
        if candidate not in taken:
            return candidate
    raise RuntimeError(f"no free enrollment name for {username!r} in {track!r}")


def _carry_over(connection: sa.Connection) -> None:
    now = datetime.now(UTC)
    meta = sa.MetaData()
    users = sa.Table("users", meta, autoload_with=connection)
    payments = sa.Table("payments", meta, autoload_with=connection)
    orders = sa.Table("orders", meta, autoload_with=connection)
    enrollments = sa.Table("enrollments", meta, autoload_with=connection)
    charges = sa.Table("charges", meta, autoload_with=connection)
    disputes = sa.Table("disputes", meta, autoload_with=connection)
    actions = sa.Table("charge_actions", meta, autoload_with=connection)

    held: dict[tuple[int, str], int] = {}
    taken: set[str] = set()
    usernames: dict[int, str] = {}
    for user in connection.execute(sa.select(users).order_by(users.c.id)).mappings():
        suspended = user["enrollment_status"] == "SUSPENDED"
        result = connection.execute(
            enrollments.insert().values(
                user_id=user["id"],
                track=user["track"],
                name=user["username"],
                state="SUSPENDED" if suspended else "ACTIVE",
                suspension_reason=user["suspension_reason"] if suspended else None,
                created_at=user["created_at"],
                updated_at=now,
            )
        )
        held[(user["id"], user["track"])] = _inserted_id(result)
        taken.add(user["username"])
        usernames[user["id"]] = user["username"]

    rows = connection.execute(
        sa.select(payments, orders.c.track.label("order_track"))
        .select_from(
            payments.outerjoin(
                orders, orders.c.checkout_session_id == payments.c.checkout_session_id
            )
        )
        .order_by(payments.c.id)
    ).mappings()
    users_tracks = dict(connection.execute(sa.select(users.c.id, users.c.track)).all())
    legacy_facts: dict[str, str] = {}
    granted: set[tuple[int, str]] = set()
    for payment in list(rows):
        user_id = payment["user_id"]
        track = payment["order_track"] or users_tracks.get(user_id)
        values: dict[str, object] = {"track": track}
        if user_id is not None and track is not None:
            if (user_id, track) not in held:
                name = _free_name(taken, usernames[user_id], track)
                taken.add(name)
                result = connection.execute(
                    enrollments.insert().values(
                        user_id=user_id,
                        track=track,
                        name=name,
                        state="ACTIVE",
                        created_at=now,
                        updated_at=now,
                    )
                )
                held[(user_id, track)] = _inserted_id(result)
            duplicate = (user_id, track) in granted
            granted.add((user_id, track))
            values.update(
                enrollment_id=held[(user_id, track)], grant="duplicate" if duplicate else "grant"
            )
        connection.execute(payments.update().where(payments.c.id == payment["id"]).values(values))
        intent = payment["payment_intent_id"]
        if intent and payment["status"] in ("REFUNDED", "DISPUTED"):
            legacy_facts[intent] = payment["status"]

    for action in connection.execute(sa.select(actions)).mappings():
        legacy_facts.setdefault(action["payment_intent_id"], action["payment_status"])
    for intent, status in legacy_facts.items():
        legacy_id = f"legacy-{intent}"
        if status == "REFUNDED":
            connection.execute(
                charges.insert().values(
                    id=legacy_id,
                    payment_intent_id=intent,
                    amount=0,
                    amount_refunded=0,
                    refunded=True,
                    updated_at=now,
                )
            )
        elif status == "DISPUTED":
            connection.execute(
                disputes.insert().values(
                    id=legacy_id,
                    charge_id=legacy_id,
                    payment_intent_id=intent,
                    status="needs_response",
                    reason="unknown",
                    amount=0,
                    updated_at=now,
                )
            )


def upgrade() -> None:
    _create_tables()
    _carry_over(op.get_bind())
    op.drop_table("charge_actions")


def downgrade() -> None:
    raise NotImplementedError("purchases cannot be folded back into one track per user")
