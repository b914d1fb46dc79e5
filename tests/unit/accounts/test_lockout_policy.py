"""The lockout policy's pure parts and its queries, on a migrated SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from apranova_api.accounts.lockout import lift_lockout, lockout_message, seconds_locked
from apranova_api.accounts.settings import AccountsSettings
from apranova_api.accounts.throttle import record_failure

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SETTINGS = AccountsSettings(
    login_max_failures_per_account=3,
    login_max_failures_per_client=5,
    login_failure_window_seconds=900,
)


def _fail(sessions: sessionmaker[Session], account: str, client: str, times: int) -> None:
    with sessions() as session, session.begin():
        for attempt in range(times):
            record_failure(
                session, account=account, client=client, now=NOW - timedelta(seconds=attempt)
            )


def _wait(sessions: sessionmaker[Session], account: str, client: str) -> int:
    with sessions() as session:
        return seconds_locked(session, account, client, NOW, SETTINGS)


def test_a_stranger_locks_only_their_own_address(sessions: sessionmaker[Session]) -> None:
    _fail(sessions, "ada@example.com", "203.0.113.9", 3)
    assert _wait(sessions, "ada@example.com", "203.0.113.9") > 0
    assert _wait(sessions, "ada@example.com", "198.51.100.7") == 0


def test_one_address_trying_many_accounts_is_stopped(sessions: sessionmaker[Session]) -> None:
    for number in range(5):
        _fail(sessions, f"student{number}@example.com", "203.0.113.9", 1)
    assert _wait(sessions, "someone-else@example.com", "203.0.113.9") > 0
    assert _wait(sessions, "someone-else@example.com", "198.51.100.7") == 0


def test_a_new_password_lifts_every_lock_of_the_account(sessions: sessionmaker[Session]) -> None:
    _fail(sessions, "ada@example.com", "198.51.100.7", 3)
    with sessions() as session, session.begin():
        lift_lockout(session, "Ada@Example.com")
    assert _wait(sessions, "ada@example.com", "198.51.100.7") == 0


def test_the_message_says_how_long_and_points_to_the_reset_form() -> None:
    assert "Try again in 45 seconds" in lockout_message(45)
    assert "Try again in 14 minutes" in lockout_message(823)
    assert "Forgot your password?" in lockout_message(823)
