"""The SMTP adapter: sends one composed message to the server named by ``SMTP_URL``."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to deliver mail."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://[user:password@]host[:port][?starttls=true]`` or ``smtps://...``."""
    parts = urlsplit(url)
    implicit_tls = parts.scheme == "smtps"
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
    return SmtpTarget(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def send_message(target: SmtpTarget, message: EmailMessage, timeout: float) -> None:
    """Deliver ``message``; raises ``smtplib.SMTPException`` or ``OSError`` when it cannot."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if target.implicit_tls:
        client = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=timeout)
    with client:
        if target.starttls:
            client.starttls(context=context)
        if target.username is not None:
            client.login(target.username, target.password or "")
        client.send_message(message)
