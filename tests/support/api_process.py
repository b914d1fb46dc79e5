"""Runs ``apranova api`` as a subprocess for end-to-end tests.

Listens on a free port of 127.0.0.1; :func:`start_api` returns once ``/readyz`` answers 200
(migrations have run by then). Several API processes may share one database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.operator_process import free_port

_START_TIMEOUT = 90.0


@dataclass
class ApiProcess:
    """One ``apranova api`` subprocess; ``url`` is its base URL without a trailing slash."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiProcess:
        environment = {**os.environ, **self.env}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "apranova.cli",
                    "api",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"api exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"api not ready within {_START_TIMEOUT}s; see {self.log_path}")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM and wait; SIGKILL when it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


def start_api(env: dict[str, str], log_path: Path) -> ApiProcess:
    """Start ``apranova api`` with extra ``env`` on a free port; wait until ready."""
    return ApiProcess(env=dict(env), log_path=Path(log_path)).start()
