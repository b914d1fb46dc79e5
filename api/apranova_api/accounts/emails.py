"""The emails students receive, composed from plain data (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlencode

TRACK_NAMES = {"DP": "Data Professional", "FSD": "Full-Stack Developer"}


@dataclass(frozen=True)
class Links:
    """The public URLs an email points at."""

    base_url: str

    def set_password(self, token: str) -> str:
        return f"{self.base_url}/set-password?{urlencode({'token': token})}"

    @property
    def dashboard(self) -> str:
        return f"{self.base_url}/dashboard"

    @property
    def login(self) -> str:
        return f"{self.base_url}/login"

    @property
    def get_started(self) -> str:
        return f"{self.base_url}/get-started"


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def welcome_email(
    *,
    sender: str,
    to: str,
    name: str,
    track: str,
    links: Links,
    token: str,
    token_hours: int,
    discord_invite: str | None,
) -> EmailMessage:
    """The welcome email: a set-password link, the dashboard and login links, the Discord invite."""
    track_name = TRACK_NAMES.get(track, track)
    discord = (
        f"Join the community on Discord: {discord_invite}\n\n"
        if discord_invite
        else "Your Discord invite will appear on your dashboard as soon as it is ready.\n\n"
    )
    body = (
        f"Hello {name or 'there'},\n\n"
        f"Welcome to ApraNova! Your payment for the {track_name} track is confirmed and your "
        "environment is being prepared.\n\n"
        f"Choose your password (this link works once and expires in {token_hours} hours):\n"
        f"{links.set_password(token)}\n\n"
        f"Your dashboard: {links.dashboard}\n"
        f"Log in: {links.login}\n\n"
        f"{discord}"
        "If the link has expired, use 'Forgot password' on the login page to get a new one.\n"
    )
    return _message(sender, to, "Welcome to ApraNova - set your password", body)


def password_reset_email(
    *, sender: str, to: str, name: str, links: Links, token: str, token_minutes: int
) -> EmailMessage:
    """The password-reset email."""
    body = (
        f"Hello {name or 'there'},\n\n"
        "Someone (hopefully you) asked to reset your ApraNova password.\n\n"
        f"Choose a new password (this link works once and expires in {token_minutes} minutes):\n"
        f"{links.set_password(token)}\n\n"
        "If you did not ask for this, ignore this email; your password stays as it is.\n"
    )
    return _message(sender, to, "Reset your ApraNova password", body)


def track_added_email(*, sender: str, to: str, name: str, track: str, links: Links) -> EmailMessage:
    """A track bought by a student who already has an account: where to find it."""
    track_name = TRACK_NAMES.get(track, track)
    body = (
        f"Hello {name or 'there'},\n\n"
        f"Your payment for the {track_name} track is confirmed. Its environment is being "
        "prepared and appears on your dashboard beside your other tracks:\n"
        f"{links.dashboard}\n\n"
        f"Log in with your usual email and password: {links.login}\n"
    )
    return _message(sender, to, f"{track_name} is on its way to your dashboard", body)


def duplicate_refund_email(
    *, sender: str, to: str, name: str, track: str, amount: int, currency: str, links: Links
) -> EmailMessage:
    """A purchase of a track the student already holds: the money went back in full.

    ``amount`` is in the currency's minor unit (cents).
    """
    track_name = TRACK_NAMES.get(track, track)
    body = (
        f"Hello {name or 'there'},\n\n"
        f"You already have the {track_name} track, so we did not charge you twice: your "
        f"payment of {amount / 100:.2f} {currency.upper()} has been refunded in full. Your bank "
        "usually shows the refund within 5 to 10 business days.\n\n"
        f"Your {track_name} environment is unchanged: {links.dashboard}\n"
    )
    return _message(sender, to, f"Refunded: you already have {track_name}", body)


def payment_failed_email(
    *, sender: str, to: str, name: str, track: str, reason: str, links: Links
) -> EmailMessage:
    """To the buyer of a delayed payment (a bank debit) that failed: nothing was taken."""
    track_name = TRACK_NAMES.get(track, track)
    body = (
        f"Hello {name or 'there'},\n\n"
        f"Your payment for the ApraNova {track_name} track did not go through"
        f"{f' ({reason})' if reason else ''}. No money was taken and no account was created.\n\n"
        f"You can choose a track and try again, with another payment method if you like:\n"
        f"{links.get_started}\n"
    )
    return _message(sender, to, "Your ApraNova payment did not go through", body)
