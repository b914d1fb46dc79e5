"""The outbox against a real SMTP server (aiosmtpd on 127.0.0.1) and a SQLite file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from apranova_api.accounts.clock import as_utc, utc_now
from apranova_api.accounts.models import OutboxMessage, PasswordToken
from apranova_api.accounts.outbox import (
    InviteState,
    OutboxSender,
    claim_lease,
    retry_delay,
    welcome_due_at,
)
from apranova_api.accounts.password_tokens import check_password_token
from apranova_api.accounts.settings import AccountsSettings
from apranova_api.accounts.welcome import enqueue_welcome_email
from apranova_api.adapters.mail import parse_smtp_url, send_message
from apranova_api.models import User
from tests.support.smtp import SmtpSink, body_of

TOKEN_IN_LINK = re.compile(r"/set-password\?token=([A-Za-z0-9_\-]+)")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    server.start()
    yield server
    server.stop()


def _settings(sink: SmtpSink, wait: float = 0.0) -> AccountsSettings:
    return AccountsSettings(
        smtp_url=sink.url,
        public_base_url="https://apranova.test",
        welcome_invite_wait_seconds=wait,
        smtp_timeout_seconds=5,
    )


def _token_of(email: EmailMessage) -> str:
    """The set-password token in an email's link."""
    match = TOKEN_IN_LINK.search(body_of(email))
    assert match is not None, "no set-password link in the email"
    return match.group(1)


def _enqueue(sessions, student: User) -> None:
    with sessions() as session, session.begin():
        enqueue_welcome_email(session, session.get(User, student.id))


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [retry_delay(n, 10).total_seconds() for n in (1, 2, 3, 4, 9)] == [2, 4, 8, 10, 10]


def test_welcome_waits_for_a_pending_invite_only_until_the_deadline() -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    wait, poll = timedelta(seconds=60), timedelta(seconds=2)
    pending = InviteState(invite=None, pending=True)
    assert welcome_due_at(created, created, pending, wait, poll) == created + poll
    almost = created + timedelta(seconds=59)
    assert welcome_due_at(created, almost, pending, wait, poll) == created + wait
    assert welcome_due_at(created, created + wait, pending, wait, poll) is None
    there = InviteState(invite="https://discord.gg/x", pending=False)
    assert welcome_due_at(created, created, there, wait, poll) is None
    assert welcome_due_at(created, created, InviteState(None, pending=False), wait, poll) is None


def test_welcome_email_is_delivered_with_a_working_one_time_link(sessions, student, sink) -> None:
    _enqueue(sessions, student)
    sender = OutboxSender(
        sessions,
        _settings(sink),
        invite_of=lambda _: InviteState("https://discord.gg/zz", pending=False),
    )
    assert sender.deliver_due() == 1
    message = sink.wait_for(lambda m: m["To"] == "ada@example.com", timeout=10)
    body = body_of(message)
    assert "https://discord.gg/zz" in body and "https://apranova.test/dashboard" in body
    token = _token_of(message)
    with sessions() as session:
        assert check_password_token(session, token, utc_now()).user_id == student.id
        assert session.query(OutboxMessage).one().sent_at is not None
    assert sender.deliver_due() == 0


@pytest.fixture
def committed(sessions: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """Sessions on the same SQLite file that read what is committed and never wait for a lock.

    The test engine issues ``BEGIN IMMEDIATE`` (it would queue behind an open write); this one
    only reads, outside any transaction, which WAL allows next to a writer.
    """
    engine = create_engine(sessions.kw["bind"].url)
    yield sessionmaker(bind=engine)
    engine.dispose()


def test_the_token_is_committed_before_the_email_leaves(sessions, committed, student, sink) -> None:
    _enqueue(sessions, student)
    settings = _settings(sink)
    now = utc_now()
    seen_while_sending: list[tuple[object, ...]] = []
    rival = OutboxSender(sessions, settings, invite_of=None)

    def send_and_look(email: EmailMessage) -> None:
        with committed() as session:
            check = check_password_token(session, _token_of(email), now)
            message = session.query(OutboxMessage).one()
            leased = as_utc(message.next_attempt_at) > now
            seen_while_sending.append((check.user_id, message.sent_at, leased))
        seen_while_sending.append((rival.deliver_next(now),))
        send_message(parse_smtp_url(settings.smtp_url), email, 5)

    sender = OutboxSender(sessions, settings, invite_of=None, send=send_and_look)
    assert sender.deliver_next(now) is True
    assert seen_while_sending == [(student.id, None, True), (False,)]
    message = sink.wait_for(lambda m: m["To"] == "ada@example.com", timeout=10)
    with sessions() as session:
        assert check_password_token(session, _token_of(message), now).user_id == student.id
        assert session.query(OutboxMessage).one().sent_at is not None


class Crash(Exception):
    """The process dying between the SMTP server's answer and marking the message sent."""


def test_a_crash_after_sending_sends_again_with_a_new_link_after_the_lease(
    sessions, student, sink
) -> None:
    _enqueue(sessions, student)
    settings = _settings(sink)
    now = utc_now()

    def send_then_crash(email: EmailMessage) -> None:
        send_message(parse_smtp_url(settings.smtp_url), email, 5)
        raise Crash

    with pytest.raises(Crash):
        OutboxSender(sessions, settings, invite_of=None, send=send_then_crash).deliver_next(now)
    first = _token_of(sink.wait_for(lambda m: True, timeout=10))
    with sessions() as session:
        message = session.query(OutboxMessage).one()
        assert (message.attempts, message.sent_at) == (1, None)
        assert as_utc(message.next_attempt_at) == now + claim_lease(settings.smtp_timeout_seconds)
        assert check_password_token(session, first, now).user_id == student.id
    sender = OutboxSender(sessions, settings, invite_of=None)
    lease_end = now + claim_lease(settings.smtp_timeout_seconds)
    assert sender.deliver_next(lease_end - timedelta(milliseconds=1)) is False
    assert sender.deliver_next(lease_end) is True
    second = _token_of(sink.wait_for(lambda m: _token_of(m) != first, timeout=10))
    with sessions() as session:
        assert check_password_token(session, second, lease_end).user_id == student.id
        assert session.query(OutboxMessage).one().sent_at is not None


def test_an_smtp_outage_delays_the_email_and_never_loses_it(sessions, student, sink) -> None:
    _enqueue(sessions, student)
    sink.stop()
    settings = _settings(sink)
    sender = OutboxSender(sessions, settings, invite_of=None)
    now = utc_now()
    assert sender.deliver_next(now) is True
    with sessions() as session:
        message = session.query(OutboxMessage).one()
        assert (message.attempts, message.sent_at) == (1, None)
        assert "Error" in (message.last_error or "")
        retry_at = as_utc(message.next_attempt_at)
        assert retry_at == now + retry_delay(1, settings.outbox_max_backoff_seconds)
        # The failed attempt's token was committed but never left: nobody knows it.
        assert session.query(PasswordToken).count() == 1
    sink.start()
    assert sender.deliver_next(retry_at - timedelta(milliseconds=1)) is False
    assert sender.deliver_next(retry_at) is True
    token = _token_of(sink.wait_for(lambda m: m["To"] == "ada@example.com", timeout=10))
    with sessions() as session:
        assert check_password_token(session, token, retry_at).user_id == student.id
        message = session.query(OutboxMessage).one()
        assert (message.attempts, message.last_error) == (2, None)
        assert message.sent_at is not None


def test_welcome_waits_for_the_discord_invite(sessions, student, sink) -> None:
    _enqueue(sessions, student)
    pending = InviteState(invite=None, pending=True)
    sender = OutboxSender(sessions, _settings(sink, wait=60), invite_of=lambda _: pending)
    now = utc_now()
    assert sender.deliver_next(now) is True
    assert sender.deliver_next(now) is False
    assert sink.messages == []
    assert sender.deliver_next(now + timedelta(seconds=61)) is True
    body = body_of(sink.wait_for(lambda m: True, timeout=10))
    assert "will appear on your dashboard" in body


def test_mail_of_an_inactive_user_is_dropped(sessions, student, sink) -> None:
    _enqueue(sessions, student)
    with sessions() as session, session.begin():
        session.get(User, student.id).is_active = False
    sender = OutboxSender(sessions, _settings(sink), invite_of=None)
    assert sender.deliver_due() == 1
    with sessions() as session:
        assert session.query(OutboxMessage).count() == 0
    assert sink.messages == []
