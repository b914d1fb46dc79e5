"""Discord request planning and answer reading, without a network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apranova_operator.integrations import discord
from apranova_operator.integrations.provider_http import ApiResponse, ProviderFailure

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def test_create_request_asks_for_a_unique_single_use_invite() -> None:
    request = discord.create_invite_request("123", 3600)
    assert (request.method, request.path) == ("POST", "/channels/123/invites")
    assert request.json == {"max_age": 3600, "max_uses": 1, "unique": True, "temporary": False}


def test_lookup_and_delete_requests() -> None:
    assert discord.get_invite_request("abc").path == "/invites/abc"
    assert discord.get_invite_request("abc").params == {"with_expiration": "true"}
    assert discord.delete_invite_request("abc").method == "DELETE"


def test_bot_authorization_header() -> None:
    assert discord.auth_headers("t0k")["Authorization"] == "Bot t0k"


def test_invite_expiry_from_expires_at() -> None:
    invite = discord.parse_invite({"code": "abc", "expires_at": "2026-12-01T00:00:00+00:00"}, NOW)
    assert invite == discord.Invite("abc", datetime(2026, 12, 1, tzinfo=UTC))
    assert invite.url == "https://discord.gg/abc"


def test_invite_expiry_from_created_at_and_max_age() -> None:
    body = {"code": "abc", "max_age": 60, "created_at": "2026-11-29T05:00:00Z"}
    assert discord.parse_invite(body, NOW).expires_at == datetime(2026, 11, 29, 5, 1, tzinfo=UTC)


def test_invite_without_expiry_never_expires() -> None:
    assert discord.parse_invite({"code": "abc", "expires_at": None}, NOW).expires_at is None
    assert discord.parse_invite({"code": "abc", "max_age": 0}, NOW).expires_at is None


def test_an_answer_without_a_code_is_a_failure() -> None:
    with pytest.raises(ProviderFailure) as failure:
        discord.parse_invite({"message": "?"}, NOW)
    assert failure.value.reason == "DiscordUnexpectedResponse"


def test_status_round_trip() -> None:
    invite = discord.Invite("abc", datetime(2026, 12, 1, tzinfo=UTC))
    status = discord.invite_status(invite)
    assert status == {
        "discordInvite": "https://discord.gg/abc",
        "discordInviteCode": "abc",
        "discordInviteExpiresAt": "2026-12-01T00:00:00Z",
    }
    assert discord.stored_invite(status) == invite
    assert discord.stored_invite(discord.invite_status(None)) is None


def test_renewal_before_expiry() -> None:
    lasting = discord.Invite("a", NOW + timedelta(days=2))
    dying = discord.Invite("b", NOW + timedelta(minutes=30))
    forever = discord.Invite("c", None)
    assert not discord.needs_renewal(lasting, NOW)
    assert discord.needs_renewal(dying, NOW)
    assert not discord.needs_renewal(forever, NOW)
    assert discord.renewal_due_in(lasting, NOW) == timedelta(days=2, hours=-1).total_seconds()
    assert discord.renewal_due_in(dying, NOW) == 0.0
    assert discord.renewal_due_in(forever, NOW) is None


@pytest.mark.parametrize(
    ("response", "reason", "retry_after"),
    [
        (ApiResponse(401, {}, {"message": "401: Unauthorized", "code": 0}), "BadCredentials", None),
        (
            ApiResponse(403, {}, {"message": "Missing Permissions", "code": 50013}),
            "Forbidden",
            None,
        ),
        (
            ApiResponse(429, {"retry-after": "3"}, {"message": "rate", "retry_after": 2.5}),
            "RateLimited",
            2.5,
        ),
        (ApiResponse(429, {"retry-after": "7"}, None), "RateLimited", 7.0),
        (ApiResponse(502, {}, None), "Unavailable", None),
        (
            ApiResponse(404, {}, {"message": "Unknown Channel", "code": 10003}),
            "ChannelNotFound",
            None,
        ),
        (ApiResponse(400, {}, {"message": "Invalid Form Body"}), "UnexpectedResponse", None),
    ],
)
def test_classify_failure(response: ApiResponse, reason: str, retry_after: float | None) -> None:
    failure = discord.classify_failure(response)
    assert failure.reason == "Discord" + reason
    assert failure.retry_after == retry_after
