"""Forward-auth decisions for the tools' ingresses, as pure functions of the request headers.

ingress-nginx (``auth-url``) sends ``X-Original-URL`` and ``X-Forwarded-Host``; Traefik
(``forwardAuth``) sends ``X-Forwarded-Host``, ``X-Forwarded-Proto`` and ``X-Forwarded-Uri``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

ALLOWED = 200
NO_SESSION = 401
FORBIDDEN = 403


@dataclass(frozen=True)
class AccessDecision:
    """The status to answer and why."""

    status: int
    reason: str


def requested_host(headers: Mapping[str, str]) -> str | None:
    """The host the student asked for, lower-cased and without a port.

    ``X-Original-URL`` wins when present: ingress-nginx always sets it to the original request.
    """
    original = headers.get("x-original-url")
    host = urlsplit(original).netloc if original else headers.get("x-forwarded-host")
    if not host:
        return None
    return host.split(",")[0].strip().split(":")[0].lower() or None


def requested_url(headers: Mapping[str, str]) -> str | None:
    """The full URL the student asked for, to come back to after logging in."""
    if headers.get("x-original-url"):
        return headers["x-original-url"]
    host = headers.get("x-forwarded-host")
    if not host:
        return None
    proto = headers.get("x-forwarded-proto", "https").split(",")[0].strip()
    return f"{proto}://{host.split(',')[0].strip()}{headers.get('x-forwarded-uri', '/')}"


def login_url(base_url: str, next_url: str | None) -> str:
    """The login page, with where to go next."""
    return f"{base_url}/login" + (f"?{urlencode({'next': next_url})}" if next_url else "")


def decide(host: str | None, username: str | None, owner: str | None) -> AccessDecision:
    """Allow only the student who owns the tool host.

    ``username`` is the logged-in student (None without a valid session) and ``owner`` the
    username whose enrollment serves ``host`` (None when no enrollment does).
    """
    if username is None:
        return AccessDecision(NO_SESSION, "Log in to use your tools.")
    if host is None:
        return AccessDecision(FORBIDDEN, "The request names no host.")
    if owner is None or owner != username:
        return AccessDecision(FORBIDDEN, "This tool belongs to another student.")
    return AccessDecision(ALLOWED, "")
