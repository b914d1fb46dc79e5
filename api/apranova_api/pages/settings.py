"""Settings of the student pages, read from environment variables at start-up."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class PagesSettings(BaseSettings):
    """Every variable is documented in README.md, section ``pages``."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    discord_community_url: str = Field(
        default="https://discord.gg/apranova",
        description="The community invite the payment success page links to.",
    )
    tools_notice: str = Field(
        default="",
        description="A plain notice above the dashboard's tools (make run: tools are simulated).",
    )
    local_tools_notes_file: str = Field(
        default="",
        description=(
            "make run with LOCAL_TOOLS=1: the JSON file (ingress host -> note) where the local "
            "tools say which tool cannot run here; its card shows the note."
        ),
    )

    @field_validator("discord_community_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "DISCORD_COMMUNITY_URL must be an http(s) URL such as https://discord.gg/apranova"
            )
        return value
