"""``make run`` with ``LOCAL_TOOLS=1``: real tools behind one local port, with forward-auth.

Settings (environment, validated at start-up, one line per bad value):

- ``LOCAL_TOOLS``: ``1`` runs each Ready tool as a local process; ``0`` (default) leaves them
  simulated (kwok marks them Ready, nothing answers at their URLs).
- ``LOCAL_TOOLS_PORT`` (default ``8090``): the proxy's port on 127.0.0.1.
- ``LOCAL_TOOLS_DOMAIN`` (default ``localtest.me``, whose every name resolves to 127.0.0.1 in
  public DNS): the site is served as ``app.<domain>`` and the tools as
  ``<tool>-<username>.students.<domain>``, so the session cookie (domain ``.<domain>``) reaches
  both, as ``SESSION_COOKIE_DOMAIN`` does in production.

With it on, the operator renders ``http://<host>:<LOCAL_TOOLS_PORT>`` URLs with the API's
forward-auth and sign-in URLs, exactly the annotations ingress-nginx would obey, and the proxy
obeys them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from apranova.local.tools.proxy import ForwardAuthProxy, Routes
from apranova.local.tools.supervisor import ToolSupervisor

SIMULATED_NOTICE = (
    "Tools are simulated locally: they show Ready but nothing runs at their URLs. "
    "To start the real tools, stop this and run: LOCAL_TOOLS=1 make run"
)
"""Plain text (the dashboard shows ``TOOLS_NOTICE`` as it is, and the console prints it)."""
NOTES_FILE = "notes.json"
"""In the local tools' folder: why a tool is not served, per ingress host (for the dashboard)."""


@dataclass(frozen=True)
class LocalToolsSettings:
    """The validated ``LOCAL_TOOLS*`` settings."""

    enabled: bool = False
    port: int = 8090
    domain: str = "localtest.me"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LocalToolsSettings:
        """Read and check the variables; ``SystemExit`` with one line per bad value."""
        errors = []
        enabled_raw = environ.get("LOCAL_TOOLS", "0")
        if enabled_raw not in ("0", "1", ""):
            errors.append(f"error: LOCAL_TOOLS={enabled_raw!r} must be 0 or 1")
        port_raw = environ.get("LOCAL_TOOLS_PORT", "8090")
        if not port_raw.isdigit() or not 1 <= int(port_raw) <= 65535:
            errors.append(f"error: LOCAL_TOOLS_PORT={port_raw!r} is not a port number (1-65535)")
        domain = environ.get("LOCAL_TOOLS_DOMAIN", "localtest.me").strip(".").lower()
        if not domain or "/" in domain or ":" in domain:
            errors.append(f"error: LOCAL_TOOLS_DOMAIN={domain!r} must be a domain name")
        if errors:
            raise SystemExit("\n".join(errors))
        return cls(enabled_raw == "1", int(port_raw), domain)

    def site_url(self, api_port: int) -> str:
        """Where the student opens the site, so the session cookie covers the tools' hosts."""
        return f"http://app.{self.domain}:{api_port}"

    def operator_env(self, api_port: int) -> dict[str, str]:
        """What the operator needs to render URLs and forward-auth for the local proxy."""
        api = f"http://127.0.0.1:{api_port}"
        return {
            "BASE_DOMAIN": f"students.{self.domain}",
            "TOOL_URL_SCHEME": "http",
            "TOOL_URL_PORT": str(self.port),
            "TOOL_AUTH_URL": f"{api}/api/auth/tool-access",
            "TOOL_AUTH_SIGNIN_URL": f"{self.site_url(api_port)}/login",
        }

    def api_env(self, api_port: int, folder: Path | None = None) -> dict[str, str]:
        """What the API needs so that its session cookie reaches the tools' hosts, and (with
        the local tools' ``folder``) where it reads their notes for the dashboard's cards."""
        site = self.site_url(api_port)
        env = {
            "PUBLIC_BASE_URL": site,
            "SESSION_COOKIE_DOMAIN": f".{self.domain}",
            "ALLOWED_REDIRECT_ORIGINS": f"{site},http://127.0.0.1:{api_port}",
        }
        if folder is not None:
            env["LOCAL_TOOLS_NOTES_FILE"] = str(folder / NOTES_FILE)
        return env


class LocalTools:
    """The proxy (uvicorn in a thread) and the supervisor (another thread), started together."""

    def __init__(
        self,
        settings: LocalToolsSettings,
        api_client: Any,
        folder: Path,
        auth_url: str,
        signin_url: str,
        label_selector: str = "",
    ) -> None:
        self.routes = Routes(notes_file=folder / NOTES_FILE)
        app = ForwardAuthProxy(self.routes, auth_url, signin_url)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=settings.port, log_level="warning", ws="websockets-sansio"
        )
        self.server = uvicorn.Server(config)
        self.supervisor = ToolSupervisor(api_client, folder, self.routes, label_selector)
        self._threads = [
            threading.Thread(target=self.server.run, name="tools-proxy", daemon=True),
            threading.Thread(target=self.supervisor.run, name="tools-supervisor", daemon=True),
        ]

    @classmethod
    def for_stack(
        cls,
        settings: LocalToolsSettings,
        kubeconfig: str,
        folder: Path,
        api_port: int,
        label_selector: str = "",
    ) -> LocalTools:
        """Wired as ``make run`` needs it: the cluster of ``kubeconfig``, the API's forward-auth,
        the enrollments the operator handles (``label_selector``: its ``ENROLLMENT_SELECTOR``)."""
        from kubernetes import config

        api_client = config.new_client_from_config(config_file=kubeconfig)
        env = settings.operator_env(api_port)
        auth, signin = env["TOOL_AUTH_URL"], env["TOOL_AUTH_SIGNIN_URL"]
        return cls(settings, api_client, folder, auth, signin, label_selector)

    def start(self) -> LocalTools:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop every tool process, then the proxy."""
        self.supervisor.stop()
        self.server.should_exit = True
        for thread in self._threads:
            thread.join(timeout=20)
