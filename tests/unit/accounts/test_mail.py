from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest
from pydantic import ValidationError

from apranova_api.accounts.emails import Links, password_reset_email, welcome_email
from apranova_api.accounts.settings import AccountsSettings
from apranova_api.adapters.mail import SmtpTarget, parse_smtp_url

LINKS = Links("https://apranova.io")


def _welcome(**changes: Any) -> EmailMessage:
    """The welcome email to Ada on the DP track with a Discord invite; ``changes`` override."""
    arguments: dict[str, Any] = {
        "sender": "ApraNova <no-reply@apranova.io>",
        "to": "ada@example.com",
        "name": "Ada",
        "track": "DP",
        "links": LINKS,
        "token": "tok-123",
        "token_hours": 72,
        "discord_invite": "https://discord.gg/abc",
    }
    return welcome_email(**{**arguments, **changes})


def test_smtp_urls() -> None:
    assert parse_smtp_url("smtp://127.0.0.1:1025") == SmtpTarget(
        "127.0.0.1", 1025, False, False, None, None
    )
    assert parse_smtp_url("smtps://u%40x:p%2Fw@mail.example.com") == SmtpTarget(
        "mail.example.com", 465, True, False, "u@x", "p/w"
    )
    assert parse_smtp_url("smtp://mail.example.com:587?starttls=true").starttls


def test_bad_settings_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match="SMTP_URL must start with smtp"):
        AccountsSettings(smtp_url="http://mail.example.com")
    with pytest.raises(ValidationError, match="PUBLIC_BASE_URL must be an http"):
        AccountsSettings(public_base_url="apranova.io")
    with pytest.raises(ValidationError, match="SESSION_COOKIE_DOMAIN"):
        AccountsSettings(session_cookie_domain="https://x.io/")


def test_welcome_email_has_the_links_and_the_invite_when_there_is_one() -> None:
    message = _welcome()
    body = message.get_content()
    assert message["To"] == "ada@example.com"
    assert "https://apranova.io/set-password?token=tok-123" in body
    assert "https://apranova.io/dashboard" in body and "https://apranova.io/login" in body
    assert "https://discord.gg/abc" in body and "Data Professional" in body
    without = _welcome(
        sender="x@apranova.io", name="", track="FSD", token="t", discord_invite=None
    ).get_content()
    assert "discord.gg" not in without and "will appear on your dashboard" in without


def test_reset_email_has_the_link() -> None:
    body = password_reset_email(
        sender="x@apranova.io", to="a@b.io", name="A", links=LINKS, token="r", token_minutes=60
    ).get_content()
    assert "https://apranova.io/set-password?token=r" in body and "60 minutes" in body
