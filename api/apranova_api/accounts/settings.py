"""Settings of the accounts part of the API, read from environment variables at start-up.

Access tokens and session cookies are opaque random values whose hashes live in the database, so
any number of API processes share them without a shared signing key.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AccountsSettings(BaseSettings):
    """Every variable is documented in README.md, section ``accounts``."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    smtp_url: str = Field(
        default="smtp://127.0.0.1:1025",
        description="smtp://[user:password@]host:port, smtps:// for TLS, ?starttls=true",
    )
    mail_from: str = "ApraNova <no-reply@apranova.local>"
    public_base_url: str = "http://127.0.0.1:8000"
    set_password_token_ttl_seconds: int = Field(default=72 * 3600, gt=0)
    reset_token_ttl_seconds: int = Field(default=3600, gt=0)
    session_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    session_cookie_name: str = "apranova_session"
    session_cookie_domain: str | None = None
    session_cookie_secure: bool = False
    login_max_failures_per_account: int = Field(default=5, gt=0)
    login_max_failures_per_client: int = Field(default=50, gt=0)
    login_failure_window_seconds: int = Field(default=900, gt=0)
    trust_forwarded_for: bool = False
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    outbox_max_backoff_seconds: float = Field(default=300.0, gt=0)
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    welcome_invite_wait_seconds: float = Field(default=60.0, ge=0)

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("SMTP_URL needs a host, e.g. smtp://127.0.0.1:1025")
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as error:
            raise ValueError(f"SMTP_URL has an invalid port: {error}") from error
        return value

    @field_validator("public_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("PUBLIC_BASE_URL must be an http(s) URL such as https://apranova.io")
        return value.rstrip("/")

    @field_validator("session_cookie_domain")
    @classmethod
    def _check_cookie_domain(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if "/" in value or ":" in value or " " in value:
            raise ValueError("SESSION_COOKIE_DOMAIN is a domain such as .students.example.com")
        return value
