"""Plain request/response values shared by the Discord and GitHub clients, and the one adapter
that sends them with httpx.

The provider modules build :class:`ApiRequest` values and read :class:`ApiResponse` values with
pure functions; only :func:`send` touches the network. Credentials live in the client's default
headers, never in a request value, so nothing that is logged or stored can carry them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

PROVIDER_MESSAGE_MAX = 200
"""How much of a provider's error message is kept for a condition message."""


@dataclass(frozen=True)
class ApiRequest:
    """One call to a provider's REST API, relative to its base URL."""

    method: str
    path: str
    json: Mapping[str, Any] | None = None
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiResponse:
    """A provider's answer: status, headers with lower-case names, and the JSON body (or None)."""

    status: int
    headers: Mapping[str, str]
    body: Any = None


class ProviderFailure(Exception):
    """An expected failure of a provider call: a condition reason, a message, and how long the
    provider asked us to wait (``None`` when it did not say)."""

    def __init__(self, reason: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after


Transport = Callable[[ApiRequest], Awaitable[ApiResponse]]


def provider_message(body: Any) -> str:
    """The provider's own error text (``message`` in both APIs), shortened; empty when absent."""
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return body["message"][:PROVIDER_MESSAGE_MAX]
    return ""


def seconds(value: object) -> float | None:
    """A non-negative number of seconds from a header or body value, or None when unusable."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if number >= 0 else None


def transport(client: httpx.AsyncClient, provider: str) -> Transport:
    """A :data:`Transport` sending requests with ``client`` (which holds base URL and headers).

    Connection errors and timeouts become a :class:`ProviderFailure` with reason
    ``<provider>Unreachable``; every HTTP answer, even an error status, is returned as is.
    """

    async def send(request: ApiRequest) -> ApiResponse:
        try:
            response = await client.request(
                request.method,
                request.path,
                json=request.json,
                params=dict(request.params) or None,
            )
        except httpx.HTTPError as error:
            raise ProviderFailure(
                f"{provider}Unreachable",
                f"{provider} API at {client.base_url} is unreachable: {type(error).__name__}",
            ) from None
        try:
            body = response.json() if response.content else None
        except json.JSONDecodeError:
            body = None
        headers = {name.lower(): value for name, value in response.headers.items()}
        return ApiResponse(status=response.status_code, headers=headers, body=body)

    return send
