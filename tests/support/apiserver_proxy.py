"""A counting reverse proxy in front of kube-apiserver, one per measured client.

The local control plane runs with API Priority and Fairness disabled and is shared by several
engineers, so ``apiserver_request_total`` (which has no per-client label) counts everyone's
requests. To know how many requests *one* client (the operator, the floor's minimal client, the
API) sends, each gets its own plain-HTTP port on 127.0.0.1; the proxy forwards every request to
kube-apiserver over TLS with the admin's client certificate, streams the answer back (watches
included) and counts the request by verb. A kubeconfig pointing at the proxy is written for the
client (:func:`proxy_kubeconfig`). Used by ``bench/`` and by the tests that count requests.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yaml
from aiohttp import web

from apranova.local.postgres import free_port

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}
)


def request_verb(method: str, path: str, query: dict[str, str]) -> str:
    """The Kubernetes verb of a request, as ``apiserver_request_total`` names it.

    ``GET`` on a collection is LIST (WATCH with ``watch=true``), on a named object GET.
    """
    if method != "GET":
        return {"POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE"}.get(
            method, method
        )
    if query.get("watch") in ("true", "1"):
        return "WATCH"
    parts = [p for p in path.split("/") if p]
    # /api/v1/<plural>, /api/v1/namespaces/<ns>/<plural>, /apis/<g>/<v>/<plural>, ...
    core = parts[:1] == ["api"]
    rest = parts[2:] if core else parts[3:]
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    return "LIST" if len(rest) == 1 else "GET"


def request_resource(path: str) -> str:
    """The resource a request addresses: its plural, with the subresource after a slash
    (``studentenrollments/status``)."""
    parts = [p for p in path.split("/") if p]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    if not rest:
        return ""
    return "/".join([rest[0], *rest[2:3]])


@dataclass
class CountingProxy:
    """One proxy: ``start()`` it, point a client at ``kubeconfig``, read ``counts``."""

    admin_kubeconfig: Path
    name: str
    port: int = field(default_factory=free_port)
    counts: Counter[str] = field(default_factory=Counter)
    by_resource: Counter[tuple[str, str]] = field(default_factory=Counter)
    watches: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _upstream: str = ""
    _ssl: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def total(self, include_watches: bool = True) -> int:
        """Requests forwarded so far (all verbs, or all but WATCH)."""
        with self._lock:
            return sum(n for verb, n in self.counts.items() if include_watches or verb != "WATCH")

    def snapshot(self) -> dict[str, int]:
        """Requests forwarded so far, by verb."""
        with self._lock:
            return dict(self.counts)

    def snapshot_by_resource(self) -> dict[tuple[str, str], int]:
        """Requests forwarded so far, by verb and resource (see :func:`request_resource`)."""
        with self._lock:
            return dict(self.by_resource)

    def start(self) -> CountingProxy:
        doc = yaml.safe_load(self.admin_kubeconfig.read_text())
        cluster = doc["clusters"][0]["cluster"]
        user = doc["users"][0]["user"]
        self._upstream = cluster["server"].rstrip("/")
        folder = Path(tempfile.mkdtemp(prefix=f"bench-proxy-{self.name}-"))
        files = {}
        for key, value in (
            ("ca", cluster["certificate-authority-data"]),
            ("cert", user["client-certificate-data"]),
            ("key", user["client-key-data"]),
        ):
            path = folder / f"{key}.pem"
            path.write_bytes(base64.b64decode(value))
            path.chmod(0o600)
            files[key] = str(path)
        context = ssl.create_default_context(cafile=files["ca"])
        context.load_cert_chain(files["cert"], files["key"])
        self._ssl = context
        self._thread = threading.Thread(target=self._serve, name=f"proxy-{self.name}", daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError(f"proxy {self.name} did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def kubeconfig(self, folder: Path) -> Path:
        """A kubeconfig (no credentials: the proxy adds them) pointing at this proxy."""
        return proxy_kubeconfig(folder / f"{self.name}.kubeconfig", self.url)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        session, runner = loop.run_until_complete(self._open())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(session.close())
            loop.run_until_complete(runner.cleanup())
            loop.close()

    async def _open(self) -> tuple[aiohttp.ClientSession, web.AppRunner]:
        connector = aiohttp.TCPConnector(ssl=self._ssl, limit=0)
        session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False
        )
        app = web.Application(client_max_size=64 * 2**20)

        async def forward(request: web.Request) -> web.StreamResponse:
            return await self._forward(session, request)

        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        return session, runner

    async def _forward(
        self, session: aiohttp.ClientSession, request: web.Request
    ) -> web.StreamResponse:
        verb = request_verb(request.method, request.path, dict(request.query))
        with self._lock:
            self.counts[verb] += 1
            self.by_resource[verb, request_resource(request.path)] += 1
            if verb == "WATCH":
                self.watches.append(request.path_qs)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = await request.read()
        async with session.request(
            request.method,
            self._upstream + request.path_qs,
            headers=headers,
            data=body or None,
            allow_redirects=False,
            # aiohttp would label a body without Content-Type application/octet-stream; the
            # API server reads an unlabelled body as JSON, as the client meant.
            skip_auto_headers=("Content-Type",),
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP_BY_HOP:
                    response.headers[key] = value
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            except (ConnectionResetError, aiohttp.ClientError):
                pass  # the client went away (a watch it stopped): nothing more to send
            return response


def proxy_kubeconfig(path: Path, url: str) -> Path:
    """Write a kubeconfig for an unauthenticated plain-HTTP server ``url``; return its path."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "bench", "cluster": {"server": url}}],
        "users": [{"name": "bench", "user": {}}],
        "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}],
        "current-context": "bench",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path
