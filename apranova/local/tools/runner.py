"""Start, wait for and stop one tool stand-in process (a :class:`~.kubelet.LocalProcess`).

Its output goes to a log file that every error names. ``wait_ready`` polls the readiness probe's
path as the kubelet would (any 2xx or 3xx is ready, as for an ``httpGet`` probe).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from apranova.local.tools.kubelet import LOOPBACK, LocalProcess


class ToolStartError(RuntimeError):
    """The tool exited or did not become ready; the message names its log file."""


@dataclass
class RunningTool:
    """A started tool process and where it logs."""

    spec: LocalProcess
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.spec.port}"

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the tool's log."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def probe(self) -> int | None:
        """The readiness probe's status code, or ``None`` when nothing answers."""
        try:
            response = httpx.get(self.base_url + self.spec.health_path, timeout=5)
        except httpx.HTTPError:
            return None
        return response.status_code

    def wait_ready(self, timeout: float) -> float:
        """Seconds until the probe path answers 2xx/3xx; :class:`ToolStartError` otherwise."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise ToolStartError(
                    f"{self.spec.argv[0]} exited with {self.process.returncode}; "
                    f"see {self.log_path}:\n{self.log_tail()}"
                )
            status = self.probe()
            if status is not None and 200 <= status < 400:
                return time.monotonic() - started
            time.sleep(0.5)
        raise ToolStartError(
            f"{self.spec.health_path} did not answer within {timeout:.0f}s; see {self.log_path}"
        )

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the tool's process group; SIGKILL when it does not stop in time."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)


def start(spec: LocalProcess, log_path: Path) -> RunningTool:
    """Start ``spec`` in its own process group (so its children stop with it)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    spec.cwd.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(spec.argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            spec.argv,
            env=spec.env,
            cwd=spec.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return RunningTool(spec, process, log_path)
