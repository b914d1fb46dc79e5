"""The pages' settings refuse a community link that is not a web address."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from apranova_api.pages.settings import PagesSettings


def test_default_community_link() -> None:
    assert PagesSettings().discord_community_url.startswith("https://")


def test_community_link_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_COMMUNITY_URL", "https://discord.gg/abc")
    assert PagesSettings().discord_community_url == "https://discord.gg/abc"


@pytest.mark.parametrize("value", ["discord.gg/abc", "javascript:alert(1)", "ftp://x.example"])
def test_community_link_must_be_http(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DISCORD_COMMUNITY_URL", value)
    with pytest.raises(ValidationError, match="DISCORD_COMMUNITY_URL must be an http"):
        PagesSettings()
