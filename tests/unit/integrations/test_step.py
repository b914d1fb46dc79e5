"""The integrations step's decisions that need no provider: combining outcomes, backoff,
which tracks it applies to, and honest answers when nothing is configured."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from apranova_operator.integrations import step
from apranova_operator.integrations.settings import IntegrationSettings
from apranova_operator.integrations.step import PartOutcome
from apranova_operator.steps import StepContext

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def unconfigured(**values: Any) -> IntegrationSettings:
    empty = {
        "discord_bot_token": None,
        "discord_channel_id": None,
        "discord_invite_url": None,
        "github_token": None,
        "github_org": None,
        "github_template_repo": None,
    }
    return IntegrationSettings(**{**empty, **values})


class NoSecrets:
    async def read(self, namespace: str, name: str) -> dict[str, str] | None:
        raise AssertionError("the integrations step reads no Secret")

    async def write(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        raise AssertionError("the integrations step writes no Secret")


def context(
    track_integrations: dict[str, bool], status: dict[str, Any] | None = None
) -> tuple[StepContext, list[tuple[str, str, str]]]:
    events: list[tuple[str, str, str]] = []
    ctx = StepContext(
        enrollment_name="ada",
        enrollment_uid="uid-1",
        spec={"student": {"username": "ada"}, "track": "FSD"},
        status=status or {},
        track_name="FSD",
        track_spec={"integrations": track_integrations},
        namespace="student-ada",
        secrets=NoSecrets(),
        record_event=lambda type_, reason, message: events.append((type_, reason, message)),
    )
    return ctx, events


def test_applies_only_to_tracks_with_an_integration() -> None:
    assert step.applies({"integrations": {"discord": True, "github": False}})
    assert step.applies({"integrations": {"github": True}})
    assert not step.applies({"integrations": {"discord": False, "github": False}})
    assert not step.applies({})


def test_backoff_doubles_and_is_capped() -> None:
    assert [step.backoff(n) for n in (1, 2, 3)] == [15.0, 30.0, 60.0]
    assert step.backoff(30) == step.BACKOFF_MAX_SECONDS


def test_all_ready_is_provisioned_and_clears_the_failure_count() -> None:
    result = step.combine(
        [
            PartOutcome("Discord", "ready", "Provisioned", "d", {"discordInvite": "u"}, 100.0),
            PartOutcome("GitHub", "ready", "Provisioned", "g", {"githubRepository": "r"}),
        ],
        previous_failed_attempts=2,
    )
    assert (result.type, result.ready, result.reason) == (
        "IntegrationsReady",
        True,
        "Provisioned",
    )
    assert result.status_patch == {
        "integrations": {"discordInvite": "u", "githubRepository": "r", "failedAttempts": None}
    }
    assert (result.retry_after, result.revisit_after) == (None, 100.0)
    assert result.message == "d; g"


def test_one_failure_names_its_reason_and_backs_off() -> None:
    result = step.combine(
        [
            PartOutcome("Discord", "ready", "Provisioned", "d"),
            PartOutcome("GitHub", "failed", "GitHubUnavailable", "g"),
        ],
        previous_failed_attempts=2,
    )
    assert (result.ready, result.reason, result.retry_after) == (False, "GitHubUnavailable", 60.0)
    assert result.status_patch["integrations"]["failedAttempts"] == 3


def test_a_rate_limit_waits_exactly_what_the_provider_asked() -> None:
    result = step.combine([PartOutcome("Discord", "failed", "DiscordRateLimited", "d", {}, 2.5)], 0)
    assert result.retry_after == 2.5


def test_two_failures_wait_for_the_longest() -> None:
    result = step.combine(
        [
            PartOutcome("Discord", "failed", "DiscordRateLimited", "d", {}, 2.5),
            PartOutcome("GitHub", "failed", "GitHubUnavailable", "g"),
        ],
        0,
    )
    assert (result.reason, result.retry_after) == ("IntegrationsFailing", 15.0)


def test_nothing_configured_is_ready_and_says_so() -> None:
    ctx, events = context({"discord": True, "github": True})
    result = asyncio.run(step.reconcile_integrations(ctx, unconfigured(), NOW))
    assert (result.ready, result.reason) == (True, "NotConfigured")
    assert "DISCORD_BOT_TOKEN" in result.message and "GITHUB_TOKEN" in result.message
    assert result.status_patch["integrations"] == {}
    assert (result.retry_after, result.revisit_after) == (None, None)
    assert events == []


def test_static_invite_is_used_when_no_bot_is_configured() -> None:
    ctx, _ = context({"discord": True, "github": True})
    settings = unconfigured(discord_invite_url="https://discord.gg/apranova")
    result = asyncio.run(step.reconcile_integrations(ctx, settings, NOW))
    assert (result.ready, result.reason) == (True, "GitHubNotConfigured")
    assert result.status_patch["integrations"]["discordInvite"] == "https://discord.gg/apranova"


def test_integrations_the_track_does_not_want_are_cleared() -> None:
    ctx, _ = context({"discord": True, "github": False})
    settings = unconfigured(discord_invite_url="https://discord.gg/apranova")
    result = asyncio.run(step.reconcile_integrations(ctx, settings, NOW))
    assert (result.ready, result.reason) == (True, "Provisioned")
    assert "githubRepository" not in result.status_patch["integrations"]


def test_a_cleared_value_is_removed_and_absent_ones_are_not_mentioned() -> None:
    ctx, _ = context(
        {"discord": True, "github": False},
        {"integrations": {"discordInvite": "https://discord.gg/old", "failedAttempts": 2}},
    )
    result = asyncio.run(step.reconcile_integrations(ctx, unconfigured(), NOW))
    assert result.status_patch == {"integrations": {"discordInvite": None, "failedAttempts": None}}
