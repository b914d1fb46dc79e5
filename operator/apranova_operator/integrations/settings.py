"""Settings of the Discord and GitHub integrations, from environment variables.

In production the tokens reach the operator as environment variables fed from Kubernetes
Secrets (``valueFrom.secretKeyRef``). They are held as :class:`~pydantic.SecretStr`, so printing
the settings or a validation error never shows them. Every variable is listed in the README
(section ``integrations``). Empty values count as unset, so a chart can always define them.
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from apranova.settings_errors import describe_settings_errors

DISCORD_MAX_INVITE_AGE = 604800
"""Discord accepts invite lifetimes up to seven days (0 means never)."""

_SNOWFLAKE = re.compile(r"^[0-9]{1,20}$")
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPOSITORY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_HTTP_URL = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")


class IntegrationSettingsError(ValueError):
    """A bad integration setting; the message names every bad variable."""


class IntegrationSettings(BaseSettings):
    """Configuration of the optional integrations (environment variables, no prefix)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, env_ignore_empty=True)

    discord_bot_token: SecretStr | None = None
    discord_channel_id: str | None = None
    discord_invite_url: str | None = None
    discord_invite_max_age: int = Field(
        default=DISCORD_MAX_INVITE_AGE, ge=0, le=DISCORD_MAX_INVITE_AGE
    )
    discord_api_base: str = "https://discord.com/api/v10"
    github_token: SecretStr | None = None
    github_org: str | None = None
    github_template_repo: str | None = None
    github_repository_prefix: str = "student-"
    github_delete_repository_on_delete: bool = False
    github_api_url: str = "https://api.github.com"
    integrations_http_timeout: float = Field(default=10.0, gt=0, le=120)

    @field_validator("discord_channel_id")
    @classmethod
    def _snowflake(cls, value: str | None) -> str | None:
        if value is not None and not _SNOWFLAKE.match(value):
            raise ValueError(f"{value!r} is not a Discord channel id (a snowflake: digits only)")
        return value

    @field_validator("discord_invite_url", "discord_api_base", "github_api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _HTTP_URL.match(value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/") if value is not None else None

    @field_validator("github_org")
    @classmethod
    def _org(cls, value: str | None) -> str | None:
        if value is not None and not _GITHUB_NAME.match(value):
            raise ValueError(f"{value!r} is not a GitHub organisation name")
        return value

    @field_validator("github_template_repo")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return None
        owner, _, name = value.partition("/")
        if not _GITHUB_NAME.match(owner) or not _REPOSITORY_NAME.match(name):
            raise ValueError(f"{value!r} is not a repository of the form owner/name")
        return value

    @field_validator("github_repository_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9._-]{1,50}", value):
            raise ValueError(
                f"{value!r} may only hold letters, digits, '.', '_' and '-' (at most 50)"
            )
        return value

    @model_validator(mode="after")
    def _complete(self) -> IntegrationSettings:
        if (self.discord_bot_token is None) != (self.discord_channel_id is None):
            raise ValueError(
                "DISCORD_BOT_TOKEN and DISCORD_CHANNEL_ID must be set together (or neither, "
                "with DISCORD_INVITE_URL as a static invite)"
            )
        github = (self.github_token, self.github_org, self.github_template_repo)
        if any(value is not None for value in github) and None in github:
            raise ValueError(
                "GITHUB_TOKEN, GITHUB_ORG and GITHUB_TEMPLATE_REPO must be set together"
            )
        return self

    @property
    def discord_bot_configured(self) -> bool:
        return self.discord_bot_token is not None and self.discord_channel_id is not None

    @property
    def github_configured(self) -> bool:
        return (
            self.github_token is not None
            and self.github_org is not None
            and self.github_template_repo is not None
        )


def load_settings() -> IntegrationSettings:
    """Read and validate the settings; :class:`IntegrationSettingsError` names each bad one."""
    try:
        return IntegrationSettings()
    except ValidationError as error:
        raise IntegrationSettingsError(
            "invalid integration settings:\n" + "\n".join(describe_settings_errors(error))
        ) from None
