"""When a password-reset email goes out: never more than one a minute, never silently dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apranova_api.accounts.reset_requests import next_reset_due

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_the_first_request_is_sent_now() -> None:
    assert next_reset_due([], NOW) == NOW


def test_a_second_request_within_a_minute_waits_for_the_minute_to_end() -> None:
    sent = NOW - timedelta(seconds=20)
    assert next_reset_due([(sent, sent)], NOW) == sent + timedelta(minutes=1)


def test_a_request_after_the_minute_is_sent_now() -> None:
    sent = NOW - timedelta(minutes=2)
    assert next_reset_due([(sent, sent)], NOW) == NOW


def test_nothing_is_added_while_a_reset_email_waits_to_be_sent() -> None:
    assert next_reset_due([(NOW - timedelta(seconds=5), None)], NOW) is None
