"""Migration 0003 carries the one-track rows over to purchases and enrollments."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from apranova_api import models
from apranova_api.db import make_engine
from apranova_api.migrate import alembic_config, upgrade_to_head
from tests.support.migrations import schema_differences

NEW_TABLES = {"enrollments", "charges", "disputes", "payments", "email_outbox"}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _migrate(engine: Engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def test_migration_0003_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    upgrade_to_head(engine)
    assert schema_differences(engine, NEW_TABLES) == []
    engine.dispose()


def _insert(connection: Any, table: str, **values: Any) -> None:
    columns = ", ".join(values)
    params = ", ".join(f":{key}" for key in values)
    connection.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), values)


def _user(connection: Any, user_id: int, username: str, track: str, status: str) -> None:
    _insert(
        connection,
        "users",
        id=user_id,
        email=f"{username}@example.com",
        name=username,
        username=username,
        role="student",
        track=track,
        enrollment_status=status,
        suspension_reason="refunded" if status == "SUSPENDED" else None,
        payment_verified=True,
        privacy_accepted=True,
        is_active=True,
        created_at=NOW,
        updated_at=NOW,
    )


def _payment(
    connection: Any, pid: int, user_id: int | None, track: str | None, status: str = "SUCCEEDED"
) -> None:
    _insert(
        connection,
        "payments",
        id=pid,
        user_id=user_id,
        checkout_session_id=f"cs_{pid}",
        payment_intent_id=f"pi_{pid}",
        amount=49900,
        currency="usd",
        status=status,
        created_at=NOW,
    )
    if track is not None:
        _insert(
            connection,
            "orders",
            id=f"order-{pid}",
            track=track,
            amount=49900,
            currency="usd",
            checkout_session_id=f"cs_{pid}",
            status="PAID",
            created_at=NOW,
            updated_at=NOW,
        )


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh SQLite database (tests/e2e/test_payments_postgres.py runs it on PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'carry.db'}"


def test_migration_0003_carries_one_track_rows_over(database_url: str) -> None:
    engine = make_engine(database_url)
    _migrate(engine, "0002_accounts")
    with engine.begin() as connection:
        # ada: DP, then paid FSD (never provisioned), then DP again (a duplicate).
        _user(connection, 1, "ada", "DP", "ENROLLED")
        _payment(connection, 1, 1, "DP")
        _payment(connection, 2, 1, "FSD")
        _payment(connection, 3, 1, None)
        # bob: refunded and suspended; a dispute arrived for a payment never fulfilled.
        _user(connection, 2, "bob", "DP", "SUSPENDED")
        _payment(connection, 4, 2, "DP", status="REFUNDED")
        _payment(connection, 5, None, "DP")
        _insert(
            connection,
            "charge_actions",
            payment_intent_id="pi_early",
            payment_status="DISPUTED",
            reason="dispute: fraudulent",
            created_at=NOW,
        )
    upgrade_to_head(engine)
    with engine.connect() as connection:
        enrollments = connection.execute(
            text("SELECT user_id, track, name, state FROM enrollments ORDER BY id")
        ).all()
        assert [tuple(row) for row in enrollments] == [
            (1, "DP", "ada", "ACTIVE"),
            (2, "DP", "bob", "SUSPENDED"),
            (1, "FSD", "ada-fsd", "ACTIVE"),
        ]
        payments = connection.execute(
            text(
                'SELECT p.id, p.track, e.name, p."grant" FROM payments p '
                "LEFT JOIN enrollments e ON e.id = p.enrollment_id ORDER BY p.id"
            )
        ).all()
        assert [tuple(row) for row in payments] == [
            (1, "DP", "ada", "grant"),
            (2, "FSD", "ada-fsd", "grant"),
            (3, "DP", "ada", "duplicate"),
            (4, "DP", "bob", "grant"),
            (5, "DP", None, "grant"),
        ]
        charges = connection.execute(text("SELECT id, refunded FROM charges")).all()
        assert [tuple(row) for row in charges] == [("legacy-pi_4", True)]
        disputes = connection.execute(text("SELECT payment_intent_id, status FROM disputes")).all()
        assert [tuple(row) for row in disputes] == [("pi_early", "needs_response")]
        tables = set(inspect(connection).get_table_names())
    assert "charge_actions" not in tables
    assert models.Enrollment.__tablename__ in tables
    engine.dispose()
