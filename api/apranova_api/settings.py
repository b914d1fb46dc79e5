"""The API's settings, read from the environment and validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from apranova_contract.labels import is_label

DEFAULT_DATABASE_URL = f"sqlite:///{Path('.local/apranova.db').resolve()}"
DEFAULT_REDIRECT_ORIGINS = "http://127.0.0.1:8000,http://localhost:8000"
SECRET_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased; empty for anything that is not http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def _parse_origins(value: object) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    origins = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        origin = origin_of(item)
        if not origin or origin != item.rstrip("/").lower():
            raise ValueError(f"{item!r} is not an origin like https://apranova.example.com")
        origins.append(origin)
    return origins


def _parse_labels(value: object) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    labels: dict[str, str] = {}
    for item in str(value).split(","):
        if not item.strip():
            continue
        key, sep, val = item.strip().partition("=")
        if not sep or not is_label(key, val):
            raise ValueError(f"{item!r} is not a label like apranova.io/test-run=abc")
        labels[key] = val
    return labels


def secret_key_problem(key: str) -> str:
    """Why ``key`` cannot be a Stripe secret key, or ``""`` (pure; never repeats the value).

    Stripe's key kinds (https://docs.stripe.com/keys): ``sk_`` secret and ``rk_`` restricted keys
    call the API; ``pk_`` publishable keys belong in browsers and cannot.
    """
    if any(char.isspace() for char in key):
        return "contains whitespace (a stray space or newline from copying it?)"
    if key.startswith("pk_"):
        return "is a publishable key (pk_); the API needs a secret (sk_) or restricted (rk_) key"
    if not key.startswith(SECRET_KEY_PREFIXES):
        return "must be a Stripe secret key: sk_test_, sk_live_, rk_test_ or rk_live_..."
    return ""


def webhook_secret_problem(secret: str) -> str:
    """Why ``secret`` cannot be a webhook signing secret, or ``""`` (pure; never repeats it).

    Stripe shows each endpoint's signing secret as ``whsec_...``
    (https://docs.stripe.com/webhooks#verify-events); anything else fails every signature.
    """
    if any(char.isspace() for char in secret):
        return "contains whitespace (a stray space or newline from copying it?)"
    if not secret.startswith("whsec_"):
        return "must be the endpoint's signing secret, starting with whsec_"
    return ""


class Settings(BaseSettings):
    """Environment variables of ``apranova api`` (documented in README.md, section api)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=True)

    APRANOVA_ENV: Literal["development", "test", "staging", "production"] = "development"
    DATABASE_URL: str = DEFAULT_DATABASE_URL
    STRIPE_SECRET_KEY: SecretStr | None = None
    STRIPE_WEBHOOK_SECRET: SecretStr | None = None
    STRIPE_API_BASE: str = "https://api.stripe.com"
    ALLOWED_REDIRECT_ORIGINS: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: _parse_origins(DEFAULT_REDIRECT_ORIGINS)
    )
    ENROLLMENT_LABELS: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    WEBHOOK_MAX_BODY_BYTES: int = Field(default=256 * 1024, ge=1024, le=10 * 1024 * 1024)
    WEBHOOK_TOLERANCE_SECONDS: int = Field(default=300, ge=1, le=3600)
    REPAIR_INTERVAL_SECONDS: float = Field(default=60.0, gt=0, le=3600)
    STRIPE_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=60)
    STRIPE_MAX_RETRIES: int = Field(default=2, ge=0, le=5)
    REQUEST_DEADLINE_SECONDS: float = Field(default=12.0, gt=0, le=25)
    STRIPE_POLL_INTERVAL_SECONDS: float = Field(default=5.0, ge=1, le=300)
    PAYMENT_WORKERS: int = Field(default=4, ge=1, le=64)

    @field_validator("ALLOWED_REDIRECT_ORIGINS", mode="before")
    @classmethod
    def _origins(cls, value: object) -> list[str]:
        return _parse_origins(value)

    @field_validator("ENROLLMENT_LABELS", mode="before")
    @classmethod
    def _labels(cls, value: object) -> dict[str, str]:
        return _parse_labels(value)

    @field_validator("STRIPE_API_BASE")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not origin_of(value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("STRIPE_SECRET_KEY")
    @classmethod
    def _secret_key_kind(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            problem = secret_key_problem(value.get_secret_value())
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("STRIPE_WEBHOOK_SECRET")
    @classmethod
    def _webhook_secret_kind(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            problem = webhook_secret_problem(value.get_secret_value())
            if problem:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _payment_mode(self) -> Settings:
        production = self.APRANOVA_ENV == "production"
        key = self.STRIPE_SECRET_KEY.get_secret_value() if self.STRIPE_SECRET_KEY else None
        if key is None and production:
            raise ValueError(
                "STRIPE_SECRET_KEY is required when APRANOVA_ENV=production: "
                "the offline checkout never runs in production"
            )
        if key is not None and key.startswith("sk_live_") and not production:
            raise ValueError("STRIPE_SECRET_KEY is a live key (sk_live_) outside production")
        if key is not None and self.STRIPE_WEBHOOK_SECRET is None:
            raise ValueError("STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set")
        return self

    @property
    def offline(self) -> bool:
        """True when no Stripe key is set: the local checkout page stands in for Stripe."""
        return self.STRIPE_SECRET_KEY is None
