"""Discord: one single-use, expiring invite per student.

Requests and answers are planned by pure functions (``*_request``, :func:`parse_invite`,
:func:`classify_failure`); :func:`ensure_invite` and :func:`revoke_invite` run them over a
:data:`~apranova_operator.integrations.provider_http.Transport`.

Idempotency: the invite's code and expiry are kept in the enrollment's status. A reconcile
reuses the stored invite while Discord still knows it (``GET /invites/{code}``) and it is not
about to expire; only then does it create another one. Discord removes an invite once it is used
or expired, so a new one is created then, which keeps the dashboard's link working for a student
who has not joined yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apranova_operator.integrations.provider_http import (
    ApiRequest,
    ApiResponse,
    ProviderFailure,
    Transport,
    provider_message,
    seconds,
)

PROVIDER = "Discord"
INVITE_URL_PREFIX = "https://discord.gg/"
USER_AGENT = "DiscordBot (https://github.com/apranova/apranova, 0.1.0)"
RENEWAL_MARGIN = timedelta(hours=1)
"""An invite with less than this left is replaced, so the student never gets a dying link."""
UNKNOWN_INVITE = 10006
UNKNOWN_CHANNEL = 10003


@dataclass(frozen=True)
class Invite:
    """What is kept of an invite: its code and when it expires (``None``: never)."""

    code: str
    expires_at: datetime | None

    @property
    def url(self) -> str:
        return INVITE_URL_PREFIX + self.code


def auth_headers(token: str) -> dict[str, str]:
    """Discord bot authentication and the user agent Discord requires of bots."""
    return {"Authorization": f"Bot {token}", "User-Agent": USER_AGENT}


def create_invite_request(channel_id: str, max_age: int) -> ApiRequest:
    """``POST /channels/{id}/invites``: single use, never a reused similar invite."""
    return ApiRequest(
        "POST",
        f"/channels/{channel_id}/invites",
        json={"max_age": max_age, "max_uses": 1, "unique": True, "temporary": False},
    )


def get_invite_request(code: str) -> ApiRequest:
    return ApiRequest("GET", f"/invites/{code}", params={"with_expiration": "true"})


def delete_invite_request(code: str) -> ApiRequest:
    return ApiRequest("DELETE", f"/invites/{code}")


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_invite(body: Any, now: datetime) -> Invite:
    """The invite in an invite object; its expiry from ``expires_at``, else from ``created_at``
    (or ``now``) plus ``max_age`` (0: never)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("code"), str) or not body["code"]:
        raise ProviderFailure(f"{PROVIDER}UnexpectedResponse", "Discord answered without a code")
    if "expires_at" in body:
        return Invite(body["code"], _timestamp(body["expires_at"]))
    max_age = body.get("max_age")
    if not isinstance(max_age, int) or max_age == 0:
        return Invite(body["code"], None)
    created = _timestamp(body.get("created_at")) or now
    return Invite(body["code"], created + timedelta(seconds=max_age))


def stored_invite(integrations: Mapping[str, Any]) -> Invite | None:
    """The invite recorded in ``status.integrations`` by an earlier reconcile, if any."""
    code = integrations.get("discordInviteCode")
    if not isinstance(code, str) or not code:
        return None
    return Invite(code, _timestamp(integrations.get("discordInviteExpiresAt")))


def invite_status(invite: Invite | None) -> dict[str, str | None]:
    """The status fields of an invite (``None`` values clear them)."""
    return {
        "discordInvite": invite.url if invite else None,
        "discordInviteCode": invite.code if invite else None,
        "discordInviteExpiresAt": (
            invite.expires_at.isoformat().replace("+00:00", "Z")
            if invite and invite.expires_at
            else None
        ),
    }


def needs_renewal(invite: Invite, now: datetime) -> bool:
    """True when the invite is expired or expires within :data:`RENEWAL_MARGIN`."""
    return invite.expires_at is not None and invite.expires_at - RENEWAL_MARGIN <= now


def renewal_due_in(invite: Invite, now: datetime) -> float | None:
    """Seconds until the invite should be replaced, or None when it never expires."""
    if invite.expires_at is None:
        return None
    return max(0.0, (invite.expires_at - RENEWAL_MARGIN - now).total_seconds())


def classify_failure(response: ApiResponse) -> ProviderFailure:
    """A Discord error answer as a condition reason, a message and the wait Discord asks for."""
    detail = provider_message(response.body)
    suffix = f": {detail}" if detail else ""
    if response.status == 401:
        return ProviderFailure(
            f"{PROVIDER}BadCredentials", f"Discord rejected the bot token (401){suffix}"
        )
    if response.status == 403:
        return ProviderFailure(
            f"{PROVIDER}Forbidden",
            f"the bot may not create invites in the channel (403){suffix}",
        )
    if response.status == 429:
        body = response.body if isinstance(response.body, Mapping) else {}
        wait = seconds(body.get("retry_after", response.headers.get("retry-after")))
        return ProviderFailure(
            f"{PROVIDER}RateLimited", f"Discord rate limit (429){suffix}", retry_after=wait
        )
    if response.status >= 500:
        return ProviderFailure(
            f"{PROVIDER}Unavailable", f"Discord answered {response.status}{suffix}"
        )
    code = response.body.get("code") if isinstance(response.body, Mapping) else None
    if response.status == 404 and code == UNKNOWN_CHANNEL:
        return ProviderFailure(
            f"{PROVIDER}ChannelNotFound", f"DISCORD_CHANNEL_ID names no channel (404){suffix}"
        )
    return ProviderFailure(
        f"{PROVIDER}UnexpectedResponse", f"Discord answered {response.status}{suffix}"
    )


@dataclass(frozen=True)
class InviteOutcome:
    invite: Invite
    created: bool


async def ensure_invite(
    send: Transport, channel_id: str, max_age: int, stored: Invite | None, now: datetime
) -> InviteOutcome:
    """The student's invite: the stored one while it lives, else a new one.

    Raises :class:`ProviderFailure` for any failure.
    """
    if stored is not None and not needs_renewal(stored, now):
        response = await send(get_invite_request(stored.code))
        if response.status == 200:
            current = parse_invite(response.body, now)
            if current.expires_at is None or not needs_renewal(current, now):
                return InviteOutcome(Invite(stored.code, current.expires_at), created=False)
        elif response.status != 404:
            raise classify_failure(response)
    response = await send(create_invite_request(channel_id, max_age))
    if response.status not in (200, 201):
        raise classify_failure(response)
    return InviteOutcome(parse_invite(response.body, now), created=True)


async def revoke_invite(send: Transport, code: str) -> bool:
    """Delete an invite; True when it existed, False when Discord no longer knows it.

    Raises :class:`ProviderFailure` for any other answer.
    """
    response = await send(delete_invite_request(code))
    if response.status in (200, 204):
        return True
    if response.status == 404:
        return False
    raise classify_failure(response)
