"""The ``integrations`` provisioning step: a Discord invite and a GitHub repository.

Both are optional. What a platform team sees in the ``IntegrationsReady`` condition:

- ``True``, reason ``Provisioned``: every integration the track wants is set up.
- ``True``, reason ``DiscordNotConfigured`` / ``GitHubNotConfigured`` / ``NotConfigured``: an
  integration the track wants has no settings. The environment is usable without it, so the
  enrollment can still become Ready; the status field stays ``null`` and the message says which
  variables to set.
- ``False``, with the provider's reason (``DiscordRateLimited``, ``GitHubBadCredentials``,
  ``GitHubUnavailable``, ...): a call failed. The step answers a ``retry_after``: the provider's
  own wait for a rate limit (``Retry-After``, ``x-ratelimit-reset``), else exponential backoff
  over ``status.integrations.failedAttempts``; it keeps what was created before, and the rest
  of the environment is never blocked.

Tokens never reach a status, an event or a log line: they only live in the HTTP clients' headers.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any, Literal

import certifi
import httpx

from apranova_contract.status import INTEGRATIONS_READY
from apranova_operator import clock
from apranova_operator.integrations import discord, github
from apranova_operator.integrations.provider_http import ProviderFailure, Transport, transport
from apranova_operator.integrations.settings import IntegrationSettings
from apranova_operator.steps import StepContext, StepResult

CONDITION_TYPE = INTEGRATIONS_READY
BACKOFF_BASE_SECONDS = 15.0
BACKOFF_MAX_SECONDS = 900.0
TRANSIENT_REASONS = ("RateLimited", "Unavailable", "Unreachable")
"""Failure reasons (after the provider name) worth waiting for when an enrollment is deleted."""

logger = logging.getLogger(__name__)

PartState = Literal["ready", "not_configured", "failed"]


@dataclass(frozen=True)
class PartOutcome:
    """The result of one integration: its state, a reason and message, its status fields and
    when to look again (the provider's wait after a failure, an invite's renewal when ready)."""

    provider: str
    state: PartState
    reason: str
    message: str
    status: Mapping[str, Any] = field(default_factory=dict)
    retry_after: float | None = None


class IntegrationCleanupError(Exception):
    """Cleanup hit a transient provider failure; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def wanted(track_spec: Mapping[str, Any]) -> tuple[bool, bool]:
    """Whether the track wants (Discord, GitHub)."""
    integrations = track_spec.get("integrations") or {}
    return bool(integrations.get("discord")), bool(integrations.get("github"))


def applies(track_spec: Mapping[str, Any]) -> bool:
    """The step runs for tracks that want at least one integration."""
    return any(wanted(track_spec))


def backoff(failed_attempts: int) -> float:
    """Seconds to wait after ``failed_attempts`` consecutive failures (doubling, capped)."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, failed_attempts - 1))


def combine(parts: Sequence[PartOutcome], previous_failed_attempts: int) -> StepResult:
    """One ``IntegrationsReady`` answer from the integrations' outcomes."""
    patch: dict[str, Any] = {}
    for part in parts:
        patch.update(part.status)
    failed = [part for part in parts if part.state == "failed"]
    message = "; ".join(part.message for part in parts)
    if failed:
        attempts = previous_failed_attempts + 1
        waits = [p.retry_after if p.retry_after is not None else backoff(attempts) for p in failed]
        reason = failed[0].reason if len(failed) == 1 else "IntegrationsFailing"
        patch["failedAttempts"] = attempts
        return StepResult(
            CONDITION_TYPE,
            ready=False,
            reason=reason,
            message=message,
            status_patch={"integrations": patch},
            retry_after=max(waits),
        )
    patch["failedAttempts"] = None
    missing = [part.provider for part in parts if part.state == "not_configured"]
    if not missing:
        reason = "Provisioned"
    elif len(missing) == len(parts):
        reason = "NotConfigured"
    else:
        reason = f"{missing[0]}NotConfigured"
    renewals = [p.retry_after for p in parts if p.retry_after is not None]
    return StepResult(
        CONDITION_TYPE,
        ready=True,
        reason=reason,
        message=message,
        status_patch={"integrations": patch},
        revisit_after=min(renewals) if renewals else None,
    )


def _previous_attempts(integrations: Mapping[str, Any]) -> int:
    value = integrations.get("failedAttempts")
    return value if isinstance(value, int) and value >= 0 else 0


@cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context (httpx's default trust store) for every client: building one loads the CA
    bundle, which a profile of a burst of enrollments showed costing 11% of the operator's time
    when each reconcile built its own."""
    return ssl.create_default_context(cafile=certifi.where())


@asynccontextmanager
async def _client(
    base_url: str, headers: Mapping[str, str], timeout: float, provider: str
) -> AsyncIterator[Transport]:
    async with httpx.AsyncClient(
        base_url=base_url, headers=dict(headers), timeout=timeout, verify=_tls_context()
    ) as c:
        yield transport(c, provider)


def _discord_client(settings: IntegrationSettings) -> AbstractAsyncContextManager[Transport]:
    assert settings.discord_bot_token is not None
    headers = discord.auth_headers(settings.discord_bot_token.get_secret_value())
    return _client(
        settings.discord_api_base, headers, settings.integrations_http_timeout, discord.PROVIDER
    )


def _github_client(settings: IntegrationSettings) -> AbstractAsyncContextManager[Transport]:
    assert settings.github_token is not None
    headers = github.auth_headers(settings.github_token.get_secret_value())
    return _client(
        settings.github_api_url, headers, settings.integrations_http_timeout, github.PROVIDER
    )


async def _discord_part(
    ctx: StepContext, settings: IntegrationSettings, integrations: Mapping[str, Any], now: datetime
) -> PartOutcome:
    if not settings.discord_bot_configured:
        if settings.discord_invite_url:
            return PartOutcome(
                discord.PROVIDER,
                "ready",
                "StaticInvite",
                "Discord: the static invite DISCORD_INVITE_URL",
                {
                    "discordInvite": settings.discord_invite_url,
                    **{k: None for k in ("discordInviteCode", "discordInviteExpiresAt")},
                },
            )
        return PartOutcome(
            discord.PROVIDER,
            "not_configured",
            "DiscordNotConfigured",
            "Discord is not configured (set DISCORD_BOT_TOKEN and DISCORD_CHANNEL_ID, or "
            "DISCORD_INVITE_URL)",
            discord.invite_status(None),
        )
    assert settings.discord_channel_id is not None
    stored = discord.stored_invite(integrations)
    try:
        async with _discord_client(settings) as send:
            outcome = await discord.ensure_invite(
                send, settings.discord_channel_id, settings.discord_invite_max_age, stored, now
            )
    except ProviderFailure as failure:
        still_valid = (
            stored if stored and (not stored.expires_at or stored.expires_at > now) else None
        )
        return PartOutcome(
            discord.PROVIDER,
            "failed",
            failure.reason,
            f"Discord: {failure.message}",
            discord.invite_status(still_valid),
            failure.retry_after,
        )
    invite = outcome.invite
    expiry = f"expires {invite.expires_at.isoformat()}" if invite.expires_at else "never expires"
    if outcome.created:
        logger.info("created a Discord invite for %s (%s)", ctx.enrollment_name, expiry)
        ctx.record_event(
            "Normal", "DiscordInviteCreated", f"created a single-use Discord invite ({expiry})"
        )
    return PartOutcome(
        discord.PROVIDER,
        "ready",
        "Provisioned",
        f"Discord: single-use invite ({expiry})",
        discord.invite_status(invite),
        discord.renewal_due_in(invite, now),
    )


def _github_status(
    repository: github.Repository | None, collaborator: str | None
) -> dict[str, str | None]:
    return {
        "githubRepository": repository.html_url if repository else None,
        "githubRepositoryFullName": repository.full_name if repository else None,
        "githubCollaborator": collaborator,
    }


def _recorded_github_status(integrations: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: integrations.get(key)
        for key in ("githubRepository", "githubRepositoryFullName", "githubCollaborator")
    }


async def _github_part(
    ctx: StepContext, settings: IntegrationSettings, integrations: Mapping[str, Any], now: datetime
) -> PartOutcome:
    if not settings.github_configured:
        return PartOutcome(
            github.PROVIDER,
            "not_configured",
            "GitHubNotConfigured",
            "GitHub is not configured (set GITHUB_TOKEN, GITHUB_ORG and GITHUB_TEMPLATE_REPO)",
            _github_status(None, None),
        )
    assert settings.github_org is not None and settings.github_template_repo is not None
    student = ctx.spec.get("student") or {}
    login = student.get("githubUsername")
    recorded_name = integrations.get("githubRepositoryFullName")
    recorded_collaborator = integrations.get("githubCollaborator")
    name = github.repository_name(settings.github_repository_prefix, ctx.enrollment_name)
    repository: github.Repository | None = None
    try:
        async with _github_client(settings) as send:
            outcome = await github.ensure_repository(
                send,
                settings.github_template_repo,
                settings.github_org,
                name,
                f"ApraNova {ctx.track_name} workspace of {student.get('username')}",
                recorded_name if isinstance(recorded_name, str) else None,
                now,
            )
            repository = outcome.repository
            if outcome.created:
                logger.info("generated GitHub repository %s", repository.full_name)
                ctx.record_event(
                    "Normal",
                    "GitHubRepositoryCreated",
                    f"generated private repository {repository.full_name} from "
                    f"{settings.github_template_repo}",
                )
            if isinstance(login, str) and login and login != recorded_collaborator:
                if not github.is_login(login):
                    raise ProviderFailure(
                        "GitHubCollaboratorRejected", f"{login!r} is not a GitHub login"
                    )
                await github.ensure_collaborator(send, repository.full_name, login, now)
                recorded_collaborator = login
                ctx.record_event(
                    "Normal",
                    "GitHubCollaboratorInvited",
                    f"invited {login} to {repository.full_name}",
                )
    except ProviderFailure as failure:
        status = (
            _github_status(repository, recorded_collaborator)
            if repository
            else _recorded_github_status(integrations)
        )
        return PartOutcome(
            github.PROVIDER,
            "failed",
            failure.reason,
            f"GitHub: {failure.message}",
            status,
            failure.retry_after,
        )
    return PartOutcome(
        github.PROVIDER,
        "ready",
        "Provisioned",
        f"GitHub: repository {repository.full_name}",
        _github_status(repository, recorded_collaborator),
    )


async def reconcile_integrations(
    ctx: StepContext, settings: IntegrationSettings, now: datetime
) -> StepResult:
    """Make sure the student has what the track wants; never raises for a provider failure."""
    integrations = ctx.status.get("integrations") or {}
    want_discord, want_github = wanted(ctx.track_spec)
    parts: list[PartOutcome] = []
    if want_discord:
        parts.append(await _discord_part(ctx, settings, integrations, now))
    if want_github:
        parts.append(await _github_part(ctx, settings, integrations, now))
    result = combine(parts, _previous_attempts(integrations))
    patch = dict(result.status_patch["integrations"])
    if not want_discord:
        patch.update(discord.invite_status(None))
    if not want_github:
        patch.update(_github_status(None, None))
    return replace(
        result, status_patch={"integrations": without_needless_nulls(patch, integrations)}
    )


def without_needless_nulls(patch: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The patch minus ``None`` values for keys the current status lacks anyway.

    The status is written as a JSON merge patch, where ``null`` removes a key. Leaving out nulls
    that remove nothing makes an unchanged status compare equal, so it is not written again.
    """
    return {k: v for k, v in patch.items() if v is not None or current.get(k) is not None}


async def cleanup_integrations(
    ctx: StepContext, settings: IntegrationSettings, now: datetime
) -> None:
    """Revoke the invite and archive (or delete) the repository of a deleted enrollment.

    Transient failures (rate limits, 5xx, unreachable) raise :class:`IntegrationCleanupError`
    so deletion is retried; permanent ones (bad credentials, forbidden) are reported as a Warning
    event and a log line and do not hold the enrollment's deletion forever.
    """
    integrations = ctx.status.get("integrations") or {}
    failures: list[ProviderFailure] = []
    invite = discord.stored_invite(integrations)
    if settings.discord_bot_configured and invite is not None:
        try:
            async with _discord_client(settings) as send:
                await discord.revoke_invite(send, invite.code)
        except ProviderFailure as failure:
            failures.append(failure)
    recorded = integrations.get("githubRepositoryFullName")
    if settings.github_configured and (wanted(ctx.track_spec)[1] or isinstance(recorded, str)):
        assert settings.github_org is not None and settings.github_template_repo is not None
        derived = f"{settings.github_org}/"
        derived += github.repository_name(settings.github_repository_prefix, ctx.enrollment_name)
        full_name = recorded if isinstance(recorded, str) else derived
        try:
            async with _github_client(settings) as send:
                outcome = await github.retire_repository(
                    send,
                    settings.github_template_repo,
                    full_name,
                    recorded if isinstance(recorded, str) else None,
                    settings.github_delete_repository_on_delete,
                    now,
                )
        except ProviderFailure as failure:
            failures.append(failure)
        else:
            if outcome in ("archived", "deleted"):
                logger.info("%s GitHub repository %s", outcome, full_name)
                ctx.record_event("Normal", "GitHubRepositoryRetired", f"{outcome} {full_name}")
            elif outcome == "foreign":
                ctx.record_event(
                    "Warning",
                    "GitHubRepositoryKept",
                    f"left {full_name} alone: it was not generated from our template",
                )
    transient = [f for f in failures if f.reason.endswith(TRANSIENT_REASONS)]
    for skipped in failures:
        if skipped not in transient:
            logger.warning("integration cleanup of %s: %s", ctx.enrollment_name, skipped.message)
            ctx.record_event("Warning", skipped.reason, f"cleanup skipped: {skipped.message}")
    if transient:
        waits = [f.retry_after for f in transient if f.retry_after is not None]
        raise IntegrationCleanupError(
            "; ".join(f.message for f in transient),
            max(waits, default=BACKOFF_BASE_SECONDS),
        )


async def reconcile(ctx: StepContext, settings: IntegrationSettings) -> StepResult:
    """The registered reconcile: this process's settings, the current time."""
    return await reconcile_integrations(ctx, settings, clock.now())


async def cleanup(ctx: StepContext, settings: IntegrationSettings) -> None:
    """The registered cleanup: this process's settings, the current time."""
    await cleanup_integrations(ctx, settings, clock.now())
