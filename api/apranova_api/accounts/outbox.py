"""The outbox sender: delivers queued emails, retrying with backoff until the server takes them.

One attempt is two short transactions with the SMTP conversation between them, outside any
transaction:

1. **Claim.** The oldest due message is selected with ``SELECT ... FOR UPDATE SKIP LOCKED`` (so
   several API processes share the work; SQLite's ``BEGIN IMMEDIATE`` serialises the claims),
   its email is composed - issuing the set-password / reset token in the same session - its
   ``attempts`` is counted and it is leased: ``next_attempt_at`` moves :func:`claim_lease` ahead,
   so no other process takes it while this one talks to the SMTP server. Then it commits: the
   token is usable before the email carrying it leaves, however fast its reader is.
2. **Send**, with no transaction open (nothing holds a row lock or SQLite's write lock while
   the SMTP server is slow).
3. **Record.** ``sent_at`` is set; on failure ``last_error`` and the backoff ``next_attempt_at``
   (:func:`retry_delay`) are, and the message is retried then. It is never lost.

Delivery is at least once: a crash between a successful send and step 3 (or a send outlasting
the lease) sends the email again once the lease ends, with a new link. A token whose email was
never accepted is harmless: nobody ever saw it, it expires after its TTL, and using any token of
a student uses up all the others (``consume_password_token``); issuing one revokes nothing, so
an earlier email's link keeps working.
A message whose student was deleted or deactivated is dropped at the claim. A welcome email
waits for the student's Discord invite (:func:`welcome_due_at`) before it is composed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from apranova_api.accounts.clock import as_utc, utc_now
from apranova_api.accounts.emails import (
    Links,
    duplicate_refund_email,
    password_reset_email,
    payment_failed_email,
    track_added_email,
    welcome_email,
)
from apranova_api.accounts.models import OutboxMessage
from apranova_api.accounts.password_tokens import (
    PURPOSE_RESET,
    PURPOSE_SET_PASSWORD,
    issue_password_token,
)
from apranova_api.accounts.settings import AccountsSettings
from apranova_api.accounts.welcome import (
    DUPLICATE_REFUNDED,
    PASSWORD_RESET,
    TRACK_ADDED,
    WELCOME,
)
from apranova_api.adapters.mail import parse_smtp_url, send_message
from apranova_api.models import Enrollment, Payment, User
from apranova_api.payments import purchases

MESSAGES_PER_ROUND = 100
CLAIM_LEASE_SMTP_TIMEOUTS = 10
"""A claim's lease, in SMTP timeouts (see :func:`claim_lease`)."""

log = logging.getLogger(__name__)

EMAILS_SENT = Counter("apranova_emails_sent_total", "Emails accepted by the SMTP server", ["kind"])
EMAIL_FAILURES = Counter(
    "apranova_email_send_failures_total", "Failed attempts to hand an email to the SMTP server"
)


@dataclass(frozen=True)
class InviteState:
    """The Discord invite of a student's enrollment, and whether one may still appear."""

    invite: str | None
    pending: bool


NO_INVITE = InviteState(invite=None, pending=False)

InviteLookup = Callable[[str], InviteState]
"""Enrollment name -> the state of that enrollment's Discord invite."""

Sender = Callable[[EmailMessage], None]


@dataclass(frozen=True)
class Claim:
    """A message taken by one sender: its email to send, or None when there is nothing to send.

    ``attempts`` counts this attempt (it picks the backoff when the send fails).
    """

    message_id: int
    kind: str
    attempts: int
    email: EmailMessage | None


def retry_delay(attempts: int, max_backoff: float) -> timedelta:
    """Wait before attempt ``attempts + 1``: 2, 4, 8 ... seconds, capped at ``max_backoff``."""
    return timedelta(seconds=min(max_backoff, 2.0 ** min(attempts, 30)))


def claim_lease(smtp_timeout_seconds: float) -> timedelta:
    """How long a claimed message stays with its sender: one SMTP conversation, at most.

    ``smtp_timeout_seconds`` bounds each socket operation, and a conversation has at most about
    eight (connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT), so the lease is ten of them
    (100 s with the default 10 s). A sender that dies mid-way leaves the message to be sent again
    once the lease ends.
    """
    return timedelta(seconds=CLAIM_LEASE_SMTP_TIMEOUTS * smtp_timeout_seconds)


def welcome_due_at(
    created_at: datetime, now: datetime, invite: InviteState, wait: timedelta, poll: timedelta
) -> datetime | None:
    """When to look at a welcome email again if it should wait for the Discord invite, else None.

    The email waits while an invite may still appear, and at most ``wait`` after it was queued,
    so it carries the invite when the operator creates one quickly and is never held back long.
    """
    deadline = as_utc(created_at) + wait
    if invite.invite is not None or not invite.pending or now >= deadline:
        return None
    return min(now + poll, deadline)


class OutboxSender:
    """Sends due messages from the outbox; run :meth:`run` as an asyncio task."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: AccountsSettings,
        invite_of: InviteLookup | None,
        send: Sender | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._settings = settings
        self._invite_of = invite_of
        target = parse_smtp_url(settings.smtp_url)
        self._send = send or (
            lambda message: send_message(target, message, settings.smtp_timeout_seconds)
        )
        self._links = Links(settings.public_base_url)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver due messages every ``OUTBOX_POLL_SECONDS`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.deliver_due)
            except Exception:
                log.exception("outbox: delivery round failed; trying again next round")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._settings.outbox_poll_seconds)

    def deliver_due(self) -> int:
        """Handle every message that is due now; returns how many were handled."""
        handled = 0
        while handled < MESSAGES_PER_ROUND and self.deliver_next(utc_now()):
            handled += 1
        return handled

    def deliver_next(self, now: datetime) -> bool:
        """Handle the oldest due message; False when none is due.

        Claims it (committing its token and lease), sends it with no transaction open, then
        records the outcome; see the module docstring for why in this order.
        """
        claim = self._claim(now)
        if claim is None:
            return False
        if claim.email is None:
            return True
        try:
            self._send(claim.email)
        except (smtplib.SMTPException, OSError) as error:
            self._record_failure(claim, now, error)
        else:
            self._record_sent(claim, now)
        return True

    def _claim(self, now: datetime) -> Claim | None:
        """Transaction 1: take the oldest due message, compose its email and lease it.

        None when no message is due; a claim without an email when the message was dropped
        (student gone or inactive) or put off (the welcome email waiting for the invite).
        """
        with self._session_factory() as session, session.begin():
            message = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if message is None:
                return None
            if message.user_id is None:
                email = self._notice(message)
            else:
                user = session.get(User, message.user_id)
                if user is None or not user.is_active:
                    session.delete(message)
                    return Claim(message.id, message.kind, message.attempts, None)
                invite = self._invite_for(session, user, message)
                if message.kind == WELCOME:
                    later = welcome_due_at(
                        message.created_at,
                        now,
                        invite,
                        timedelta(seconds=self._settings.welcome_invite_wait_seconds),
                        timedelta(seconds=self._settings.outbox_poll_seconds),
                    )
                    if later is not None:
                        message.next_attempt_at = later
                        return Claim(message.id, message.kind, message.attempts, None)
                email = self._compose(session, message, user, invite.invite, now)
            message.attempts += 1
            message.next_attempt_at = now + claim_lease(self._settings.smtp_timeout_seconds)
            return Claim(message.id, message.kind, message.attempts, email)

    def _record_sent(self, claim: Claim, now: datetime) -> None:
        """Transaction 2 after the SMTP server took the email: mark it sent."""
        with self._session_factory() as session, session.begin():
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == claim.message_id, OutboxMessage.sent_at.is_(None))
                .values(sent_at=now, last_error=None)
            )
        EMAILS_SENT.labels(kind=claim.kind).inc()

    def _record_failure(self, claim: Claim, now: datetime, error: Exception) -> None:
        """Transaction 2 after a failed send: keep the error and retry after the backoff."""
        EMAIL_FAILURES.inc()
        delay = retry_delay(claim.attempts, self._settings.outbox_max_backoff_seconds)
        last_error = f"{type(error).__name__}: {error}"[:500]
        with self._session_factory() as session, session.begin():
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == claim.message_id, OutboxMessage.sent_at.is_(None))
                .values(last_error=last_error, next_attempt_at=now + delay)
            )
        log.warning(
            "outbox: sending %s #%s failed (%s); retrying in %ss",
            claim.kind,
            claim.message_id,
            last_error,
            delay.total_seconds(),
        )

    def _invite_for(self, session: Session, user: User, message: OutboxMessage) -> InviteState:
        """The Discord invite of the enrollment the message is about (its track, else the
        student's first)."""
        if self._invite_of is None:
            return NO_INVITE
        query = select(Enrollment.name).where(Enrollment.user_id == user.id)
        if message.track:
            query = query.where(Enrollment.track == message.track)
        name = session.scalars(query.order_by(Enrollment.id).limit(1)).first()
        return self._invite_of(name) if name else NO_INVITE

    def _notice(self, message: OutboxMessage) -> EmailMessage:
        """A payment notice to a buyer without an account (``recipient``, ``details``)."""
        details = message.details or {}
        return payment_failed_email(
            sender=self._settings.mail_from,
            to=message.recipient or "",
            name=str(details.get("name") or ""),
            track=str(details.get("track") or ""),
            reason=str(details.get("reason") or ""),
            links=self._links,
        )

    def _compose(
        self,
        session: Session,
        message: OutboxMessage,
        user: User,
        invite: str | None,
        now: datetime,
    ) -> EmailMessage:
        settings = self._settings
        if message.kind == PASSWORD_RESET:
            ttl = timedelta(seconds=settings.reset_token_ttl_seconds)
            token = issue_password_token(
                session, user_id=user.id, purpose=PURPOSE_RESET, ttl=ttl, now=now
            )
            return password_reset_email(
                sender=settings.mail_from,
                to=user.email,
                name=user.name,
                links=self._links,
                token=token,
                token_minutes=max(1, settings.reset_token_ttl_seconds // 60),
            )
        track = message.track or user.track
        if message.kind == TRACK_ADDED:
            return track_added_email(
                sender=settings.mail_from,
                to=user.email,
                name=user.name,
                track=track,
                links=self._links,
            )
        if message.kind == DUPLICATE_REFUNDED:
            payment = session.scalars(
                select(Payment)
                .where(
                    Payment.user_id == user.id,
                    Payment.track == track,
                    Payment.grant == purchases.DUPLICATE,
                )
                .order_by(Payment.id.desc())
                .limit(1)
            ).first()
            return duplicate_refund_email(
                sender=settings.mail_from,
                to=user.email,
                name=user.name,
                track=track,
                amount=payment.amount if payment else 0,
                currency=payment.currency if payment else "usd",
                links=self._links,
            )
        ttl = timedelta(seconds=settings.set_password_token_ttl_seconds)
        token = issue_password_token(
            session, user_id=user.id, purpose=PURPOSE_SET_PASSWORD, ttl=ttl, now=now
        )
        return welcome_email(
            sender=settings.mail_from,
            to=user.email,
            name=user.name,
            track=track,
            links=self._links,
            token=token,
            token_hours=max(1, settings.set_password_token_ttl_seconds // 3600),
            discord_invite=invite,
        )
