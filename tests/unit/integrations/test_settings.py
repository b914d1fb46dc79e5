"""The integration settings: what is accepted, what is refused, and that secrets stay hidden."""

from __future__ import annotations

import pytest

from apranova_operator.integrations.settings import (
    IntegrationSettingsError,
    load_settings,
)

VARIABLES = (
    "DISCORD_BOT_TOKEN",
    "DISCORD_CHANNEL_ID",
    "DISCORD_INVITE_URL",
    "DISCORD_INVITE_MAX_AGE",
    "DISCORD_API_BASE",
    "GITHUB_TOKEN",
    "GITHUB_ORG",
    "GITHUB_TEMPLATE_REPO",
    "GITHUB_REPOSITORY_PREFIX",
    "GITHUB_DELETE_REPOSITORY_ON_DELETE",
    "GITHUB_API_URL",
    "INTEGRATIONS_HTTP_TIMEOUT",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_configure_nothing_and_point_at_the_real_services() -> None:
    settings = load_settings()
    assert not settings.discord_bot_configured
    assert not settings.github_configured
    assert settings.discord_invite_url is None
    assert settings.discord_api_base == "https://discord.com/api/v10"
    assert settings.github_api_url == "https://api.github.com"
    assert settings.discord_invite_max_age == 604800
    assert settings.github_delete_repository_on_delete is False


def test_full_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "bot-secret")
    monkeypatch.setenv("DISCORD_CHANNEL_ID", "1234567890")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("GITHUB_ORG", "apranova-students")
    monkeypatch.setenv("GITHUB_TEMPLATE_REPO", "apranova/fsd-template")
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9999/")
    monkeypatch.setenv("GITHUB_DELETE_REPOSITORY_ON_DELETE", "true")
    settings = load_settings()
    assert settings.discord_bot_configured and settings.github_configured
    assert settings.github_api_url == "http://127.0.0.1:9999"
    assert settings.github_delete_repository_on_delete is True
    assert "bot-secret" not in repr(settings) and "ghp_secret" not in repr(settings)


def test_empty_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISCORD_BOT_TOKEN", "DISCORD_CHANNEL_ID", "GITHUB_TOKEN", "GITHUB_ORG"):
        monkeypatch.setenv(name, "")
    settings = load_settings()
    assert not settings.discord_bot_configured and not settings.github_configured


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DISCORD_CHANNEL_ID", "general", "DISCORD_CHANNEL_ID: 'general' is not a Discord channel"),
        ("DISCORD_INVITE_URL", "discord.gg/abc", "DISCORD_INVITE_URL: 'discord.gg/abc' is not"),
        ("DISCORD_INVITE_MAX_AGE", "700000", "DISCORD_INVITE_MAX_AGE: Input should be less"),
        ("GITHUB_TEMPLATE_REPO", "template", "GITHUB_TEMPLATE_REPO: 'template' is not a repo"),
        ("GITHUB_ORG", "-org", "GITHUB_ORG: '-org' is not a GitHub organisation"),
        ("GITHUB_REPOSITORY_PREFIX", "a/b", "GITHUB_REPOSITORY_PREFIX: 'a/b' may only hold"),
        ("GITHUB_API_URL", "ftp://x", "GITHUB_API_URL: 'ftp://x' is not an http(s) URL"),
    ],
)
def test_a_bad_value_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(IntegrationSettingsError) as error:
        load_settings()
    assert expected in str(error.value)


def test_a_token_without_its_channel_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "bot-secret-value")
    with pytest.raises(IntegrationSettingsError) as error:
        load_settings()
    assert "DISCORD_BOT_TOKEN and DISCORD_CHANNEL_ID must be set together" in str(error.value)
    assert "bot-secret-value" not in str(error.value)


def test_github_needs_all_three(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret_value")
    monkeypatch.setenv("GITHUB_ORG", "apranova-students")
    with pytest.raises(IntegrationSettingsError) as error:
        load_settings()
    assert "GITHUB_TOKEN, GITHUB_ORG and GITHUB_TEMPLATE_REPO must be set together" in str(
        error.value
    )
    assert "ghp_secret_value" not in str(error.value)
