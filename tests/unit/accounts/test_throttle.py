from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apranova_api.accounts.throttle import (
    account_key,
    clear_account_failures,
    failures_of_account,
    failures_of_client,
    forget_old_failures,
    record_failure,
    retry_after_seconds,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def test_under_the_limit_no_wait() -> None:
    failures = [NOW - timedelta(minutes=m) for m in (1, 2, 3, 4)]
    assert retry_after_seconds(failures, NOW, 5, WINDOW) is None


def test_at_the_limit_wait_until_the_oldest_counted_failure_leaves_the_window() -> None:
    failures = [NOW - timedelta(minutes=m) for m in (1, 2, 3, 4, 5)]
    assert retry_after_seconds(failures, NOW, 5, WINDOW) == 10 * 60


def test_failures_outside_the_window_do_not_count() -> None:
    failures = [NOW - timedelta(minutes=m) for m in (1, 2, 3, 4, 20, 30)]
    assert retry_after_seconds(failures, NOW, 5, WINDOW) is None


def test_naive_times_from_sqlite_are_utc() -> None:
    failures = [(NOW - timedelta(minutes=1)).replace(tzinfo=None)] * 3
    assert retry_after_seconds(failures, NOW, 3, WINDOW) == 14 * 60


def test_account_key_is_case_and_space_insensitive() -> None:
    assert account_key("  Ada@Example.COM ") == "ada@example.com"


def test_failures_are_counted_per_account_and_per_client(sessions) -> None:
    with sessions() as session, session.begin():
        record_failure(session, account="a@x.io", client="10.0.0.1", now=NOW)
        record_failure(session, account="b@x.io", client="10.0.0.1", now=NOW)
        record_failure(session, account="a@x.io", client="10.0.0.2", now=NOW - timedelta(hours=1))
    since = NOW - WINDOW
    with sessions() as session, session.begin():
        assert len(failures_of_account(session, "a@x.io", since)) == 1
        assert len(failures_of_client(session, "10.0.0.1", since)) == 2
        forget_old_failures(session, since)
        clear_account_failures(session, "b@x.io")
    with sessions() as session:
        assert len(failures_of_client(session, "10.0.0.1", since)) == 1
        assert failures_of_account(session, "a@x.io", NOW - timedelta(days=1)) != []
        assert failures_of_client(session, "10.0.0.2", NOW - timedelta(days=1)) == []
