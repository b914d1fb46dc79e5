from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apranova_api.accounts.models import PasswordToken
from apranova_api.accounts.password_tokens import (
    PURPOSE_RESET,
    PURPOSE_SET_PASSWORD,
    TokenRefusal,
    check_password_token,
    consume_password_token,
    issue_password_token,
)
from apranova_api.accounts.tokens import token_hash

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_only_the_hash_is_stored_and_the_token_works_once(sessions, student) -> None:
    with sessions() as session, session.begin():
        token = issue_password_token(
            session, user_id=student.id, purpose=PURPOSE_SET_PASSWORD, ttl=DAY, now=NOW
        )
    with sessions() as session:
        stored = session.query(PasswordToken).one()
        assert stored.token_hash == token_hash(token) != token
    with sessions() as session, session.begin():
        assert consume_password_token(session, token, NOW).user_id == student.id
    with sessions() as session, session.begin():
        again = consume_password_token(session, token, NOW)
        assert again.user_id is None and again.refusal is TokenRefusal.USED


def test_expired_and_unknown_tokens_are_refused(sessions, student) -> None:
    with sessions() as session, session.begin():
        token = issue_password_token(
            session, user_id=student.id, purpose=PURPOSE_RESET, ttl=DAY, now=NOW
        )
    with sessions() as session:
        assert check_password_token(session, token, NOW + DAY).refusal is TokenRefusal.EXPIRED
        assert check_password_token(session, "nope", NOW).refusal is TokenRefusal.UNKNOWN
        assert check_password_token(session, token, NOW + DAY / 2).refusal is None


def test_using_one_link_uses_up_the_older_ones(sessions, student) -> None:
    with sessions() as session, session.begin():
        first = issue_password_token(
            session, user_id=student.id, purpose=PURPOSE_SET_PASSWORD, ttl=DAY, now=NOW
        )
        second = issue_password_token(
            session, user_id=student.id, purpose=PURPOSE_RESET, ttl=DAY, now=NOW
        )
    with sessions() as session, session.begin():
        assert consume_password_token(session, second, NOW).refusal is None
    with sessions() as session:
        assert check_password_token(session, first, NOW).refusal is TokenRefusal.USED
