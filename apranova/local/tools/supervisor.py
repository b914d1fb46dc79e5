"""``LOCAL_TOOLS=1``: run every Ready tool of every enrollment as a local process, behind the proxy.

A loop (every ``interval`` seconds) reads the enrollments; for each tool the status calls ready
whose Deployment has a replica, it reads what the operator rendered, turns the container into a
local process (:mod:`.kubelet`) and starts it from the cached install; once its readiness probe
answers, the proxy routes the tool's Ingress host to it. A changed container (new credentials, a
track edit) restarts it; a tool that is gone, suspended or no longer Ready is stopped. Each tool
keeps its folder under ``<local>/tools/<namespace>/<tool>/`` (the stand-in for its volume), so a
student's notebooks survive restarts of ``make run``. Tools whose image has no stand-in, or that
cannot be installed, are reported once and left alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from apranova.local.postgres import free_port
from apranova.local.tools import catalog, install, kubelet, runner
from apranova.local.tools.proxy import Routes
from apranova.local.tools.rendered import RenderedTool, read_rendered

log = logging.getLogger("apranova.local_tools")
GROUP, VERSION, PLURAL = "apranova.io", "v1alpha1", "studentenrollments"


@dataclass
class _Managed:
    host: str
    fingerprint: str
    tool: runner.RunningTool
    routed: bool = False


def fingerprint(rendered: RenderedTool) -> str:
    """Changes when the container or any Secret or ConfigMap of its namespace changes."""
    container = rendered.deployment["spec"]["template"]["spec"]["containers"][0]
    material = [container, rendered.secrets, rendered.config_maps]
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def wanted_tools(enrollments: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(username, tool)`` of every tool the enrollments' status calls ready (not suspended)."""
    wanted = []
    for enrollment in enrollments:
        spec, status = enrollment.get("spec") or {}, enrollment.get("status") or {}
        if spec.get("suspended"):
            continue
        username = (spec.get("student") or {}).get("username")
        for tool in status.get("tools") or []:
            if username and tool.get("ready"):
                wanted.append((username, tool["name"]))
    return wanted


@dataclass
class ToolSupervisor:
    """Keeps the local tool processes in line with the cluster (see the module docstring)."""

    api_client: Any
    folder: Path
    routes: Routes
    label_selector: str = ""
    """Only enrollments with these labels (``ENROLLMENT_SELECTOR``, as the operator's)."""
    interval: float = 3.0
    _running: dict[tuple[str, str], _Managed] = field(default_factory=dict)
    _reported: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _report_once(self, key: str, message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            print(f"[tools] {message}", flush=True)

    def _start(self, username: str, name: str, rendered: RenderedTool) -> _Managed | None:
        build = catalog.build_for(rendered.image)
        if build is None:
            self._report_once(rendered.image, f"no local stand-in for {rendered.image}")
            return None
        try:
            done = install.install(build)
        except install.InstallError as error:
            self._report_once(build.key, f"cannot install {build.key}: {error}")
            return None
        namespace = rendered.deployment["metadata"]["namespace"]
        root = self.folder / namespace / name
        spec = kubelet.container_to_process(
            rendered.deployment,
            rendered.secrets,
            rendered.config_maps,
            build,
            done.bin_dir,
            root / "root",
            free_port(),
        )
        tool = runner.start(spec, root / "tool.log")
        print(f"[tools] starting {name} of {username} ({build.key}), log {root / 'tool.log'}")
        return _Managed(rendered.host, fingerprint(rendered), tool)

    def serving(self, username: str, tool: str) -> str | None:
        """The fingerprint of the rendering the proxy routes ``tool`` of ``username`` to, if any."""
        managed = self._running.get((username, tool))
        return managed.fingerprint if managed and managed.routed else None

    def _stop_one(self, key: tuple[str, str]) -> None:
        managed = self._running.pop(key)
        self.routes.remove(managed.host)
        managed.tool.stop()
        print(f"[tools] stopped {key[1]} of {key[0]}", flush=True)

    def sync(self) -> None:
        """One pass: start, route, restart and stop tools as the cluster says."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        objects = client.CustomObjectsApi(self.api_client)
        listed = cast(
            dict[str, Any],
            objects.list_cluster_custom_object(
                GROUP, VERSION, PLURAL, label_selector=self.label_selector
            ),
        )
        enrollments = listed["items"]
        wanted = set(wanted_tools(enrollments))
        for key in [k for k in self._running if k not in wanted]:
            self._stop_one(key)
        for key in sorted(wanted):
            try:
                rendered = read_rendered(self.api_client, *key)
            except ApiException as error:
                if error.status == 404:
                    continue
                raise
            replicas = rendered.deployment["spec"].get("replicas", 1)
            managed = self._running.get(key)
            if managed and (managed.fingerprint != fingerprint(rendered) or not replicas):
                self._stop_one(key)
                managed = None
            if managed is None and replicas:
                started = self._start(*key, rendered)
                if started:
                    self._running[key] = managed = started
            if managed and not managed.routed:
                self._route_when_ready(key, managed)

    def _route_when_ready(self, key: tuple[str, str], managed: _Managed) -> None:
        if managed.tool.process.poll() is not None:
            self._report_once(
                f"{key}-exited-{managed.fingerprint}",
                f"{key[1]} of {key[0]} exited; see {managed.tool.log_path}",
            )
            return
        status = managed.tool.probe()
        if status is not None and 200 <= status < 400:
            self.routes.set(managed.host, managed.tool.spec.port)
            managed.routed = True
            print(f"[tools] {key[1]} of {key[0]} ready at {managed.host}", flush=True)

    def run(self) -> None:
        """Sync until :meth:`stop`; errors of one pass are logged and the next pass retries."""
        while not self._stop.is_set():
            try:
                self.sync()
            except Exception:  # one failed pass must not end the local stack's tools
                log.exception("local tools: sync failed; retrying")
            self._stop.wait(self.interval)

    def stop(self) -> None:
        """End the loop and stop every tool process."""
        self._stop.set()
        for key in list(self._running):
            self._stop_one(key)
