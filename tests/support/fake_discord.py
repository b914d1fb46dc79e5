"""A stand-in for the few Discord REST endpoints the operator uses, with Discord's shapes.

- ``POST /channels/{channel.id}/invites`` (bot token, ``Authorization: Bot <token>``): 200 and an
  invite object with metadata; 404 ``Unknown Channel`` (code 10003) for another channel.
- ``GET /invites/{code}``: 200 and the invite object; 404 ``Unknown Invite`` (code 10006) once it
  is used, expired or deleted.
- ``DELETE /invites/{code}``: 200 and the deleted invite object; 404 ``Unknown Invite``.
- A wrong token: 401 ``{"message": "401: Unauthorized", "code": 0}``.

:meth:`FakeDiscord.rate_limit_next` answers Discord's 429 (``retry_after`` in the body and a
``Retry-After`` header); :meth:`~tests.support.fake_http_server.FakeHTTPServer.inject` any other.
"""

from __future__ import annotations

import math
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.fake_http_server import FakeHTTPServer, RecordedRequest, Reply

GUILD_ID = "1095082938593452103"
BOT_USER_ID = "1095083011117142016"
UNKNOWN_INVITE = {"message": "Unknown Invite", "code": 10006}
UNKNOWN_CHANNEL = {"message": "Unknown Channel", "code": 10003}
UNAUTHORIZED = {"message": "401: Unauthorized", "code": 0}

_CHANNEL_INVITES = re.compile(r"^/api/v10/channels/(?P<channel>[0-9]+)/invites$")
_INVITE = re.compile(r"^/api/v10/invites/(?P<code>[A-Za-z0-9-]+)$")


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class FakeDiscord(FakeHTTPServer):
    """Discord with one guild and one text channel; invites kept in memory."""

    def __init__(self, token: str, channel_id: str) -> None:
        super().__init__()
        self.token = token
        self.channel_id = channel_id
        self.invites: dict[str, dict[str, Any]] = {}

    @property
    def api_base(self) -> str:
        """The value for ``DISCORD_API_BASE``."""
        return f"{self.url}/api/v10"

    def remove(self, code: str) -> None:
        """Make an invite vanish, as Discord does once it is used or expired."""
        with self._lock:
            self.invites.pop(code, None)

    def rate_limit_next(self, retry_after: float, method: str | None = None) -> None:
        self.inject(
            Reply(
                429,
                {
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": False,
                },
                {
                    "Retry-After": str(math.ceil(retry_after)),
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": str(retry_after),
                    "X-RateLimit-Scope": "user",
                },
            ),
            method=method,
        )

    def _invite(self, invite: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
        public = {
            "type": 0,
            "code": invite["code"],
            "inviter": {
                "id": BOT_USER_ID,
                "username": "apranova",
                "discriminator": "0",
                "global_name": None,
                "avatar": None,
                "bot": True,
            },
            "expires_at": invite["expires_at"],
            "guild": {
                "id": GUILD_ID,
                "name": "ApraNova",
                "splash": None,
                "banner": None,
                "description": None,
                "icon": None,
                "features": [],
                "verification_level": 1,
                "vanity_url_code": None,
                "nsfw_level": 0,
                "premium_subscription_count": 0,
            },
            "guild_id": GUILD_ID,
            "channel": {"id": self.channel_id, "type": 0, "name": "welcome"},
        }
        if with_metadata:
            public.update(
                {
                    key: invite[key]
                    for key in ("uses", "max_uses", "max_age", "temporary", "created_at")
                }
            )
        return public

    def handle(self, request: RecordedRequest) -> Reply:
        authorization = request.headers.get("authorization")
        if authorization != f"Bot {self.token}":
            return Reply(401, UNAUTHORIZED)
        if match := _CHANNEL_INVITES.match(request.path):
            if request.method != "POST":
                return Reply(405, {"message": "405: Method Not Allowed", "code": 0})
            if match["channel"] != self.channel_id:
                return Reply(404, UNKNOWN_CHANNEL)
            return self._create(request.body or {})
        if match := _INVITE.match(request.path):
            invite = self.invites.get(match["code"])
            if invite is None:
                return Reply(404, UNKNOWN_INVITE)
            if request.method == "GET":
                return Reply(200, self._invite(invite, with_metadata=False))
            if request.method == "DELETE":
                del self.invites[match["code"]]
                return Reply(200, self._invite(invite, with_metadata=False))
            return Reply(405, {"message": "405: Method Not Allowed", "code": 0})
        return Reply(404, {"message": "404: Not Found", "code": 0})

    def _create(self, body: dict[str, Any]) -> Reply:
        max_age = body.get("max_age", 86400)
        max_uses = body.get("max_uses", 0)
        errors = {}
        if not isinstance(max_age, int) or not 0 <= max_age <= 604800:
            errors["max_age"] = {"_errors": [{"code": "NUMBER_TYPE_MAX", "message": "bad"}]}
        if not isinstance(max_uses, int) or not 0 <= max_uses <= 100:
            errors["max_uses"] = {"_errors": [{"code": "NUMBER_TYPE_MAX", "message": "bad"}]}
        if errors:
            return Reply(400, {"code": 50035, "errors": errors, "message": "Invalid Form Body"})
        now = datetime.now(UTC)
        code = secrets.token_urlsafe(6).replace("_", "x").replace("-", "y")
        invite = {
            "code": code,
            "uses": 0,
            "max_uses": max_uses,
            "max_age": max_age,
            "temporary": bool(body.get("temporary", False)),
            "created_at": _timestamp(now),
            "expires_at": _timestamp(now + timedelta(seconds=max_age)) if max_age else None,
        }
        self.invites[code] = invite
        return Reply(200, self._invite(invite, with_metadata=True))
