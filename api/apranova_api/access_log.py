"""The API's access log: one line per request with method, path, status, duration, request id.

The path is logged without its query string, which may carry tokens (``/set-password?token=``)
or checkout session ids. The request id is the caller's ``X-Request-ID`` when it is a short,
plain token (a proxy's id, so both logs can be joined), otherwise a new random one; it is sent
back in ``X-Request-ID``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("apranova_api.access")

REQUEST_ID_HEADER = "x-request-id"
ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_from(headers: Mapping[str, str]) -> str:
    """The caller's request id when it is 1-64 of ``[A-Za-z0-9._-]``, else a new one (pure but
    for the random fallback)."""
    candidate = headers.get(REQUEST_ID_HEADER, "")
    if ACCEPTED_REQUEST_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


def access_fields(
    method: str, path: str, status: int, seconds: float, request_id: str
) -> dict[str, Any]:
    """The structured fields of one access-log entry; ``duration_ms`` rounded to 0.1 ms (pure)."""
    return {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "request_id": request_id,
    }


def access_line(fields: Mapping[str, Any]) -> str:
    """The readable form: ``GET /dashboard 200 12.3ms request_id=...`` (pure)."""
    return (
        f"{fields['method']} {fields['path']} {fields['status']} "
        f"{fields['duration_ms']}ms request_id={fields['request_id']}"
    )


class AccessLogMiddleware:
    """ASGI middleware writing :func:`access_line` for every HTTP request at INFO level.

    The fields also travel as ``record.fields``, which the JSON log formatter writes as keys. A
    request that ends in an unhandled exception is logged with status 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])
        }
        request_id = request_id_from(headers)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (b"x-request-id", request_id.encode("latin-1")),
                    ],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            fields = access_fields(
                str(scope.get("method", "")),
                str(scope.get("path", "")),
                status,
                time.perf_counter() - started,
                request_id,
            )
            log.info(access_line(fields), extra={"fields": fields})
