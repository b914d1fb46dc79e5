"""Security and caching headers on every response of the API and its pages.

The rules are a pure function of the request path (:func:`response_headers`); the ASGI
middleware only adds them. Sources: OWASP Secure Headers Project and the OWASP HTTP Headers
Cheat Sheet (``nosniff``, framing, referrer, a restrictive CSP), and RFC 9111 section 5.2.2.5
(``no-store``: neither the browser's history/disk cache nor a proxy keeps the response).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self' https://checkout.stripe.com",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
"""Only this site's own files: the pages load no inline script or style and nothing from a CDN.

``form-action`` also names Stripe Checkout because the "Enroll" form is answered with a redirect
there, and browsers check a form's redirects against ``form-action`` too.
"""

COMMON_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
"""Sent with every response. ``same-origin`` keeps set-password tokens out of the Referer of
requests to other sites (``no-referrer`` would also make browsers send ``Origin: null`` with
the pages' own form posts, which the forms refuse as cross-site)."""

NO_STORE = "no-store"

CACHEABLE_PREFIXES: tuple[str, ...] = ("/static/", "/favicon.ico")
"""Paths whose responses never carry personal data: they keep their own ``Cache-Control``."""


def may_be_cached(path: str) -> bool:
    """True for the stylesheet, scripts and icon; every other response may be personal."""
    return path.startswith(CACHEABLE_PREFIXES)


def response_headers(path: str, existing: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The response's headers after adding the security headers for a request to ``path``.

    Headers in :data:`COMMON_HEADERS` replace same-named ones; every response that may carry
    personal data (all but :data:`CACHEABLE_PREFIXES`) gets ``Cache-Control: no-store``, also
    replacing what a route set, so logged-in JSON and pages are never served from a cache after
    logout. Names compare case-insensitively (pure).
    """
    replaced = {name.lower() for name, _ in COMMON_HEADERS}
    added = list(COMMON_HEADERS)
    if not may_be_cached(path):
        replaced.add("cache-control")
        added.append(("Cache-Control", NO_STORE))
    kept = [(name, value) for name, value in existing if name.lower() not in replaced]
    return kept + added


class SecurityHeadersMiddleware:
    """ASGI middleware that sends :func:`response_headers` with every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = [
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in message.get("headers", [])
                ]
                message = {
                    **message,
                    "headers": [
                        (name.encode("latin-1"), value.encode("latin-1"))
                        for name, value in response_headers(path, existing)
                    ],
                }
            await send(message)

        await self.app(scope, receive, send_with_headers)
