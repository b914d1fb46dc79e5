"""Refuse requests that smuggle a NUL character into the path, the query or a JSON/form body.

PostgreSQL cannot store NUL in text, so such a value would otherwise reach the database and fail
there as a 500 (found by the schemathesis run in ``tests/e2e/test_hostile_api.py``). No form,
API client or Stripe ever sends one, so the request is refused up front with 400. Bodies are
scanned as they stream through: a body is only passed on once it is known to be clean, and only
bodies up to :data:`SCANNED_BODY_BYTES` are buffered (larger ones are refused by the endpoints'
own limits or pass unscanned).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SCANNED_BODY_BYTES = 1024 * 1024
_ENCODED_NUL = (b"%00", b"\x00")
_JSON_NUL = (b"\\u0000", b"\x00")


def has_nul(raw: bytes, content_type: str) -> bool:
    """Whether ``raw`` (a path, query string or body of ``content_type``) carries a NUL.

    Paths, query strings and form bodies are percent-encoded (``%00``); JSON escapes it
    (``\\u0000``); a raw NUL byte counts everywhere.
    """
    kind = content_type.split(";")[0].strip().lower()
    markers = _JSON_NUL if kind.endswith("json") else _ENCODED_NUL
    return any(marker in raw.lower() for marker in markers)


class NulGuard:
    """ASGI middleware: 400 for a request with a NUL in its path, query or body."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        target = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if has_nul(target, ""):
            await _refuse(send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        length = headers.get(b"content-length", b"")
        if scope.get("method") in ("GET", "HEAD") or not (
            length.isdigit() and int(length) <= SCANNED_BODY_BYTES
        ):
            await self._app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if has_nul(body, content_type):
            await _refuse(send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self._app(scope, replay, send)


async def _refuse(send: Send) -> None:
    body = json.dumps({"detail": "the request contains a NUL character"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
