"""One local port in front of every locally run tool, as ingress-nginx would be in a cluster.

Routing is by ``Host`` (the Ingress host) to a tool process's port; HTTP and WebSockets are
proxied by asgiproxy (aiohttp). Before each request, including each WebSocket upgrade, the
forward-auth URL is asked first, the way ingress-nginx's ``auth-url`` annotation does
(https://kubernetes.github.io/ingress-nginx/examples/auth/oauth-external-auth/): a ``GET`` with
the client's headers (cookies, ``Authorization``) plus ``X-Original-URL``, ``X-Original-Method``,
``X-Auth-Request-Redirect`` and ``X-Forwarded-Host``/``-Proto``. A 2xx lets the request through
with the ``auth-response-headers`` copied onto it; a 401 becomes a redirect to ``auth-signin``
with ``rd=<original URL>`` (or a 401 without a sign-in URL); anything else is answered as it
came (403), and an unreachable auth service is a 500, as in nginx.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from asgiproxy.config import ProxyConfig
from asgiproxy.context import ProxyContext
from asgiproxy.simple_proxy import make_simple_proxy_app
from multidict import CIMultiDict
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

AUTH_RESPONSE_HEADERS = ("X-Auth-Request-User", "X-Auth-Request-Email")
_DROPPED_UPSTREAM = {"content-encoding", "content-length", "transfer-encoding", "connection"}
_AUTH_SCOPE_KEY = "apranova.auth_headers"


@dataclass
class Routes:
    """Ingress host → local port of the tool serving it; safe to change while serving.

    A host without a port may carry a note (why its tool does not run locally, or that it is
    being installed), which the proxy answers with 503 instead of a bare 404. With a
    ``notes_file``, every change of the notes rewrites it (a JSON object host → note, replaced
    atomically), where the API reads them for the dashboard's cards (``LOCAL_TOOLS_NOTES_FILE``).
    """

    notes_file: Path | None = None
    _ports: dict[str, int] = field(default_factory=dict)
    _notes: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        with self._lock:
            self._save_notes()  # no note left over from an earlier run

    def _save_notes(self) -> None:
        """Write the notes to :attr:`notes_file` (called with the lock held)."""
        if self.notes_file is None:
            return
        self.notes_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.notes_file.with_suffix(".partial")
        partial.write_text(json.dumps(self._notes, sort_keys=True))
        os.replace(partial, self.notes_file)

    def set(self, host: str, port: int) -> None:
        with self._lock:
            self._ports[host.lower()] = port
            if self._notes.pop(host.lower(), None) is not None:
                self._save_notes()

    def remove(self, host: str) -> None:
        with self._lock:
            self._ports.pop(host.lower(), None)
            if self._notes.pop(host.lower(), None) is not None:
                self._save_notes()

    def set_note(self, host: str, note: str) -> None:
        """Say why nothing is served at ``host`` (plain text for the student)."""
        with self._lock:
            if self._notes.get(host.lower()) != note:
                self._notes[host.lower()] = note
                self._save_notes()

    def note(self, host: str) -> str | None:
        with self._lock:
            return self._notes.get(host.lower().split(":")[0])

    def port(self, host: str) -> int | None:
        with self._lock:
            return self._ports.get(host.lower().split(":")[0])

    def hosts(self) -> list[str]:
        with self._lock:
            return sorted(self._ports)


class _HostRoutedConfig(ProxyConfig):
    def __init__(self, routes: Routes) -> None:
        self.routes = routes

    def get_upstream_url(self, *, scope: Scope) -> str:
        port = self.routes.port(Headers(scope=scope).get("host", ""))
        return f"http://127.0.0.1:{port}{scope['path']}"

    def process_client_headers(self, *, scope: Scope, headers: Headers) -> MutableHeaders:
        forwarded = headers.mutablecopy()
        forwarded["X-Forwarded-Host"] = headers.get("host", "")
        forwarded["X-Forwarded-Proto"] = scope.get("scheme", "http").replace("ws", "http")
        forwarded["X-Real-IP"] = (scope.get("client") or ("127.0.0.1", 0))[0]
        for name, value in scope.get(_AUTH_SCOPE_KEY, {}).items():
            forwarded[name] = value
        return forwarded

    def process_upstream_headers(  # type: ignore[override]  # any Mapping suits Response
        self, *, scope: Scope, proxy_response: Any
    ) -> CIMultiDict[str]:
        """The tool's headers (every ``Set-Cookie`` kept) without those aiohttp made untrue by
        decoding the body, and without hop-by-hop ones."""
        return CIMultiDict(
            (name, value)
            for name, value in proxy_response.headers.items()
            if name.lower() not in _DROPPED_UPSTREAM
        )


def _original_url(scope: Scope, headers: Headers) -> str:
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scheme}://{headers.get('host', '')}{scope['path']}" + (f"?{query}" if query else "")


@dataclass
class ForwardAuthProxy:
    """The ASGI application: forward-auth check, then the tool behind the request's host."""

    routes: Routes
    auth_url: str
    signin_url: str = ""
    timeout: float = 10.0

    def __post_init__(self) -> None:
        self._context = ProxyContext(_HostRoutedConfig(self.routes))
        self._proxy = make_simple_proxy_app(self._context)

    async def _check(self, scope: Scope, headers: Headers) -> Response | dict[str, str]:
        """The auth service's verdict: the headers to pass on, or the response to give."""
        original = _original_url(scope, headers)
        ask = {k: v for k, v in headers.items() if k.lower() in ("cookie", "authorization")}
        ask |= {
            "X-Original-URL": original,
            "X-Original-Method": scope.get("method", "GET"),
            "X-Auth-Request-Redirect": scope.get("raw_path", b"/").decode("latin-1"),
            "X-Forwarded-Host": headers.get("host", ""),
            "X-Forwarded-Proto": original.split(":")[0],
            "X-Sent-From": "nginx-ingress-controller",
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                verdict = await client.get(self.auth_url, headers=ask)
        except httpx.HTTPError as error:
            return PlainTextResponse(f"auth service unreachable: {error}", status_code=500)
        if 200 <= verdict.status_code < 300:
            return {n: verdict.headers[n] for n in AUTH_RESPONSE_HEADERS if n in verdict.headers}
        if verdict.status_code == 401 and self.signin_url:
            separator = "&" if "?" in self.signin_url else "?"
            return RedirectResponse(
                f"{self.signin_url}{separator}{urlencode({'rd': original})}", status_code=302
            )
        if verdict.status_code in (401, 403):
            return PlainTextResponse(verdict.reason_phrase, status_code=verdict.status_code)
        return PlainTextResponse("auth service failed", status_code=500)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Close the upstream connection pool when the server shuts down."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._context.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] not in ("http", "websocket"):
            return
        headers = Headers(scope=scope)
        if self.routes.port(headers.get("host", "")) is None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            host = headers.get("host", "")
            note = self.routes.note(host)
            response = (
                PlainTextResponse(note, 503)
                if note
                else PlainTextResponse(f"no tool is served at {host}", 404)
            )
            await response(scope, receive, send)
            return
        verdict = await self._check(scope, headers)
        if isinstance(verdict, Response):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await verdict(scope, receive, send)
            return
        await self._proxy({**scope, _AUTH_SCOPE_KEY: verdict}, receive, send)
