"""The integrations step against local Discord and GitHub stand-ins speaking real HTTP.

No cluster: each test runs the step's reconcile or cleanup with a plain context and checks what
the stand-ins received and what the step answered. A reconcile is followed by the next one with
the status the first produced, as the operator would do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apranova_operator.integrations import step
from apranova_operator.integrations.settings import IntegrationSettings
from apranova_operator.integrations.step import IntegrationCleanupError
from apranova_operator.steps import StepContext, StepResult
from tests.support.fake_discord import FakeDiscord
from tests.support.fake_github import NOT_FOUND, FakeGitHub
from tests.support.fake_http_server import Reply

DISCORD_TOKEN = "discord-bot-token-7f3a"
GITHUB_TOKEN = "ghp_fake_token_91c2"
CHANNEL = "1095082998814851082"
ORG = "apranova-students"
TEMPLATE = "apranova/fsd-template"
REPOSITORY = f"{ORG}/student-ada"


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    with FakeDiscord(DISCORD_TOKEN, CHANNEL) as server:
        yield server


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub(GITHUB_TOKEN, ORG, TEMPLATE) as server:
        yield server


def settings_for(
    discord: FakeDiscord | None = None, github: FakeGitHub | None = None, **values: Any
) -> IntegrationSettings:
    configured: dict[str, Any] = {
        "discord_bot_token": DISCORD_TOKEN if discord else None,
        "discord_channel_id": CHANNEL if discord else None,
        "discord_invite_url": None,
        "discord_invite_max_age": 86400,
        "discord_api_base": discord.api_base if discord else "https://discord.com/api/v10",
        "github_token": GITHUB_TOKEN if github else None,
        "github_org": ORG if github else None,
        "github_template_repo": TEMPLATE if github else None,
        "github_api_url": github.url if github else "https://api.github.com",
        "github_delete_repository_on_delete": False,
    }
    return IntegrationSettings(**{**configured, **values})


class NoSecrets:
    async def read(self, namespace: str, name: str) -> dict[str, str] | None:
        raise AssertionError("the integrations step reads no Secret")

    async def write(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        raise AssertionError("the integrations step writes no Secret")


class Enrollment:
    """An enrollment's spec and status, carried from one reconcile to the next."""

    def __init__(
        self, discord: bool = True, github: bool = True, github_username: str | None = None
    ) -> None:
        self.student = {"id": "42", "username": "ada", "email": "ada@example.com", "name": "Ada"}
        if github_username:
            self.student["githubUsername"] = github_username
        self.track = {"integrations": {"discord": discord, "github": github}}
        self.status: dict[str, Any] = {}
        self.events: list[tuple[str, str, str]] = []

    def context(self) -> StepContext:
        return StepContext(
            enrollment_name="ada",
            enrollment_uid="uid-ada",
            spec={"student": self.student, "track": "FSD"},
            status=self.status,
            track_name="FSD",
            track_spec=self.track,
            namespace="student-ada",
            secrets=NoSecrets(),
            record_event=lambda type_, reason, message: self.events.append(
                (type_, reason, message)
            ),
        )

    def reconcile(self, settings: IntegrationSettings) -> StepResult:
        result = asyncio.run(
            step.reconcile_integrations(self.context(), settings, datetime.now(UTC))
        )
        integrations = {**self.status.get("integrations", {})}
        integrations.update(result.status_patch["integrations"])
        self.status = {"integrations": {k: v for k, v in integrations.items() if v is not None}}
        return result

    def cleanup(self, settings: IntegrationSettings) -> None:
        asyncio.run(step.cleanup_integrations(self.context(), settings, datetime.now(UTC)))


def assert_no_secret(result: StepResult, events: list[tuple[str, str, str]]) -> None:
    text = repr(result) + repr(events)
    assert DISCORD_TOKEN not in text and GITHUB_TOKEN not in text


# Discord


def test_discord_invite_is_created_once_and_then_reused(fake_discord: FakeDiscord) -> None:
    enrollment = Enrollment(github=False)
    settings = settings_for(discord=fake_discord)

    first = enrollment.reconcile(settings)
    assert (first.ready, first.reason) == (True, "Provisioned")
    [create] = fake_discord.requests_for("POST", f"/api/v10/channels/{CHANNEL}/invites")
    assert create.headers["authorization"] == f"Bot {DISCORD_TOKEN}"
    assert create.body == {"max_age": 86400, "max_uses": 1, "unique": True, "temporary": False}
    [code] = fake_discord.invites
    assert enrollment.status["integrations"]["discordInvite"] == f"https://discord.gg/{code}"
    assert enrollment.status["integrations"]["discordInviteCode"] == code
    # A ready invite asks for a revisit before it expires, which is not a failure to retry.
    assert first.retry_after is None
    assert first.revisit_after is not None and first.revisit_after > 0
    assert [e[1] for e in enrollment.events] == ["DiscordInviteCreated"]

    second = enrollment.reconcile(settings)
    assert (second.ready, second.reason) == (True, "Provisioned")
    assert len(fake_discord.requests_for("POST")) == 1
    [lookup] = fake_discord.requests_for("GET", f"/api/v10/invites/{code}")
    assert lookup.query == {"with_expiration": "true"}
    assert enrollment.status["integrations"]["discordInvite"] == f"https://discord.gg/{code}"
    assert_no_secret(second, enrollment.events)


def test_discord_invite_is_replaced_once_used_or_gone(fake_discord: FakeDiscord) -> None:
    enrollment = Enrollment(github=False)
    settings = settings_for(discord=fake_discord)
    enrollment.reconcile(settings)
    [first_code] = fake_discord.invites
    fake_discord.remove(first_code)

    result = enrollment.reconcile(settings)
    assert result.ready
    [second_code] = fake_discord.invites
    assert second_code != first_code
    assert enrollment.status["integrations"]["discordInviteCode"] == second_code
    assert len(fake_discord.requests_for("POST")) == 2


def test_an_expired_invite_is_replaced_without_asking(fake_discord: FakeDiscord) -> None:
    enrollment = Enrollment(github=False)
    past = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    enrollment.status = {
        "integrations": {
            "discordInvite": "https://discord.gg/old",
            "discordInviteCode": "old",
            "discordInviteExpiresAt": past,
        }
    }
    result = enrollment.reconcile(settings_for(discord=fake_discord))
    assert result.ready
    assert fake_discord.requests_for("GET") == []
    assert len(fake_discord.requests_for("POST")) == 1
    assert enrollment.status["integrations"]["discordInviteCode"] != "old"


def test_discord_rate_limit_honours_retry_after(fake_discord: FakeDiscord) -> None:
    enrollment = Enrollment(github=False)
    settings = settings_for(discord=fake_discord)
    fake_discord.rate_limit_next(2.5, method="POST")

    limited = enrollment.reconcile(settings)
    assert (limited.ready, limited.reason, limited.retry_after) == (
        False,
        "DiscordRateLimited",
        2.5,
    )
    assert enrollment.status["integrations"]["failedAttempts"] == 1
    assert "discordInvite" not in enrollment.status["integrations"]

    recovered = enrollment.reconcile(settings)
    assert (recovered.ready, recovered.reason) == (True, "Provisioned")
    assert "failedAttempts" not in enrollment.status["integrations"]
    assert len(fake_discord.invites) == 1


def test_discord_server_error_backs_off_and_keeps_the_invite(fake_discord: FakeDiscord) -> None:
    enrollment = Enrollment(github=False)
    settings = settings_for(discord=fake_discord)
    enrollment.reconcile(settings)
    invite = enrollment.status["integrations"]["discordInvite"]
    fake_discord.inject(Reply(502, {"message": "Bad Gateway", "code": 0}), times=2)

    first = enrollment.reconcile(settings)
    second = enrollment.reconcile(settings)
    assert (first.ready, first.reason, first.retry_after) == (False, "DiscordUnavailable", 15.0)
    assert (second.reason, second.retry_after) == ("DiscordUnavailable", 30.0)
    assert enrollment.status["integrations"]["discordInvite"] == invite
    assert enrollment.reconcile(settings).ready
    assert len(fake_discord.invites) == 1


def test_discord_bad_token_is_reported_without_the_token(fake_discord: FakeDiscord) -> None:
    enrollment = Enrollment(github=False)
    result = enrollment.reconcile(
        settings_for(discord=fake_discord, discord_bot_token="wrong-token-5d1e")
    )
    assert (result.ready, result.reason) == (False, "DiscordBadCredentials")
    assert "wrong-token-5d1e" not in repr(result)
    assert fake_discord.invites == {}


def test_unreachable_discord_is_a_failure_not_an_exception(fake_discord: FakeDiscord) -> None:
    enrollment = Enrollment(github=False)
    settings = settings_for(discord=fake_discord)
    fake_discord.stop()
    result = enrollment.reconcile(settings)
    assert (result.ready, result.reason) == (False, "DiscordUnreachable")


def test_cleanup_deletes_the_invite_and_tolerates_it_gone(fake_discord: FakeDiscord) -> None:
    enrollment = Enrollment(github=False)
    settings = settings_for(discord=fake_discord)
    enrollment.reconcile(settings)
    [code] = fake_discord.invites

    enrollment.cleanup(settings)
    enrollment.cleanup(settings)
    deletes = fake_discord.requests_for("DELETE", f"/api/v10/invites/{code}")
    assert len(deletes) == 2
    assert fake_discord.invites == {}


# GitHub


def test_github_repository_is_generated_once_and_the_student_invited(
    fake_github: FakeGitHub,
) -> None:
    enrollment = Enrollment(discord=False, github_username="ada-lovelace")
    settings = settings_for(github=fake_github)

    first = enrollment.reconcile(settings)
    assert (first.ready, first.reason) == (True, "Provisioned")
    [generate] = fake_github.requests_for("POST", f"/repos/{TEMPLATE}/generate")
    assert generate.headers["authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert generate.headers["accept"] == "application/vnd.github+json"
    assert generate.headers["x-github-api-version"] == "2022-11-28"
    assert generate.body["owner"] == ORG
    assert generate.body["name"] == "student-ada"
    assert generate.body["private"] is True
    repository = fake_github.repository(REPOSITORY)
    assert repository is not None and repository["private"]
    assert enrollment.status["integrations"]["githubRepository"] == repository["html_url"]
    [invite] = fake_github.requests_for("PUT", f"/repos/{REPOSITORY}/collaborators/ada-lovelace")
    assert invite.body == {"permission": "push"}
    assert fake_github.invitations[REPOSITORY] == {"ada-lovelace"}
    assert [e[1] for e in enrollment.events] == [
        "GitHubRepositoryCreated",
        "GitHubCollaboratorInvited",
    ]

    second = enrollment.reconcile(settings)
    assert (second.ready, second.reason) == (True, "Provisioned")
    assert len(fake_github.requests_for("POST")) == 1
    assert len(fake_github.requests_for("PUT")) == 1
    assert len(fake_github.requests_for("GET", f"/repos/{REPOSITORY}")) == 2
    assert_no_secret(second, enrollment.events)


def test_a_repository_from_our_template_is_found_after_status_loss(
    fake_github: FakeGitHub,
) -> None:
    fake_github.add_repository(ORG, "student-ada", template=TEMPLATE)
    enrollment = Enrollment(discord=False)
    result = enrollment.reconcile(settings_for(github=fake_github))
    assert (result.ready, result.reason) == (True, "Provisioned")
    assert fake_github.requests_for("POST") == []
    assert enrollment.status["integrations"]["githubRepositoryFullName"] == REPOSITORY


def test_already_exists_on_generate_means_look_it_up(fake_github: FakeGitHub) -> None:
    fake_github.add_repository(ORG, "student-ada", template=TEMPLATE)
    fake_github.inject(Reply(404, NOT_FOUND), method="GET")
    enrollment = Enrollment(discord=False)
    result = enrollment.reconcile(settings_for(github=fake_github))
    assert (result.ready, result.reason) == (True, "Provisioned")
    assert len(fake_github.requests_for("POST")) == 1
    assert len(fake_github.requests_for("GET", f"/repos/{REPOSITORY}")) == 2
    assert enrollment.status["integrations"]["githubRepositoryFullName"] == REPOSITORY


def test_a_foreign_repository_with_our_name_is_left_alone(fake_github: FakeGitHub) -> None:
    fake_github.add_repository(ORG, "student-ada")
    enrollment = Enrollment(discord=False)
    result = enrollment.reconcile(settings_for(github=fake_github))
    assert (result.ready, result.reason) == (False, "GitHubRepositoryConflict")
    assert fake_github.requests_for("POST") == []
    assert fake_github.requests_for("PATCH") == []


def test_github_primary_rate_limit_waits_for_the_reset(fake_github: FakeGitHub) -> None:
    fake_github.primary_rate_limit_next(reset_in=120)
    enrollment = Enrollment(discord=False)
    result = enrollment.reconcile(settings_for(github=fake_github))
    assert (result.ready, result.reason) == (False, "GitHubRateLimited")
    assert result.retry_after is not None and 100 < result.retry_after <= 120
    assert fake_github.requests_for("POST") == []


def test_github_secondary_rate_limit_honours_retry_after(fake_github: FakeGitHub) -> None:
    fake_github.secondary_rate_limit_next(retry_after=30)
    enrollment = Enrollment(discord=False)
    settings = settings_for(github=fake_github)
    result = enrollment.reconcile(settings)
    assert (result.ready, result.reason, result.retry_after) == (False, "GitHubRateLimited", 30.0)
    assert enrollment.reconcile(settings).ready
    assert len(fake_github.requests_for("POST")) == 1


def test_github_server_error_is_retried_with_backoff(fake_github: FakeGitHub) -> None:
    fake_github.inject(Reply(503, {"message": "Service Unavailable"}), method="POST")
    enrollment = Enrollment(discord=False)
    settings = settings_for(github=fake_github)
    result = enrollment.reconcile(settings)
    assert (result.ready, result.reason, result.retry_after) == (False, "GitHubUnavailable", 15.0)
    assert enrollment.status["integrations"]["failedAttempts"] == 1
    assert enrollment.reconcile(settings).ready
    assert fake_github.repository(REPOSITORY) is not None


def test_github_bad_token_is_reported_without_the_token(fake_github: FakeGitHub) -> None:
    enrollment = Enrollment(discord=False)
    result = enrollment.reconcile(settings_for(github=fake_github, github_token="ghp_wrong_77"))
    assert (result.ready, result.reason) == (False, "GitHubBadCredentials")
    assert "Bad credentials" in result.message
    assert "ghp_wrong_77" not in repr(result)


def test_deletion_archives_the_repository(fake_github: FakeGitHub) -> None:
    enrollment = Enrollment(discord=False)
    settings = settings_for(github=fake_github)
    enrollment.reconcile(settings)

    enrollment.cleanup(settings)
    [archive] = fake_github.requests_for("PATCH", f"/repos/{REPOSITORY}")
    assert archive.body == {"archived": True}
    assert fake_github.repository(REPOSITORY)["archived"] is True
    assert fake_github.requests_for("DELETE") == []

    enrollment.cleanup(settings)
    assert len(fake_github.requests_for("PATCH")) == 1
    retired = [e for e in enrollment.events if e[1] == "GitHubRepositoryRetired"]
    assert retired == [("Normal", "GitHubRepositoryRetired", f"archived {REPOSITORY}")]


def test_a_returning_student_gets_the_archived_repository_back(fake_github: FakeGitHub) -> None:
    enrollment = Enrollment(discord=False)
    settings = settings_for(github=fake_github)
    enrollment.reconcile(settings)
    enrollment.cleanup(settings)

    returning = Enrollment(discord=False)
    assert returning.reconcile(settings).ready
    assert fake_github.repository(REPOSITORY)["archived"] is False
    assert len(fake_github.requests_for("POST")) == 1


def test_deletion_deletes_the_repository_when_configured(fake_github: FakeGitHub) -> None:
    enrollment = Enrollment(discord=False)
    settings = settings_for(github=fake_github, github_delete_repository_on_delete=True)
    enrollment.reconcile(settings)
    enrollment.cleanup(settings)
    assert len(fake_github.requests_for("DELETE", f"/repos/{REPOSITORY}")) == 1
    assert fake_github.repository(REPOSITORY) is None
    enrollment.cleanup(settings)
    assert len(fake_github.requests_for("DELETE")) == 1


def test_transient_cleanup_failure_asks_for_a_retry(fake_github: FakeGitHub) -> None:
    enrollment = Enrollment(discord=False)
    settings = settings_for(github=fake_github)
    enrollment.reconcile(settings)
    fake_github.secondary_rate_limit_next(retry_after=45)
    with pytest.raises(IntegrationCleanupError) as error:
        enrollment.cleanup(settings)
    assert error.value.retry_after == 45.0
    enrollment.cleanup(settings)
    assert fake_github.repository(REPOSITORY)["archived"] is True


def test_permanent_cleanup_failure_is_reported_and_does_not_block(
    fake_github: FakeGitHub,
) -> None:
    enrollment = Enrollment(discord=False)
    enrollment.reconcile(settings_for(github=fake_github))
    enrollment.cleanup(settings_for(github=fake_github, github_token="ghp_revoked_3"))
    assert ("Warning", "GitHubBadCredentials") in [e[:2] for e in enrollment.events]
    assert "ghp_revoked_3" not in repr(enrollment.events)
    assert fake_github.repository(REPOSITORY)["archived"] is False


# Both


def test_both_integrations_in_one_condition(
    fake_discord: FakeDiscord, fake_github: FakeGitHub
) -> None:
    enrollment = Enrollment()
    settings = settings_for(discord=fake_discord, github=fake_github)
    fake_github.inject(Reply(500, {"message": "Server Error"}), method="POST")

    partial = enrollment.reconcile(settings)
    assert (partial.ready, partial.reason) == (False, "GitHubUnavailable")
    assert enrollment.status["integrations"]["discordInvite"].startswith("https://discord.gg/")

    complete = enrollment.reconcile(settings)
    assert (complete.ready, complete.reason) == (True, "Provisioned")
    assert enrollment.status["integrations"]["githubRepository"].endswith(REPOSITORY)
    assert len(fake_discord.invites) == 1
