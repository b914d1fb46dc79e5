"""Runs ``apranova api`` as a subprocess for end-to-end tests.

Listens on a free port of 127.0.0.1; :func:`start_api` returns once ``/readyz`` answers 200
(migrations have run by then). Several API processes may share one database.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from apranova.local.postgres import free_port
from tests.support import processes


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
        command = [sys.executable, "-m", "apranova.cli", "api"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.process = processes.start_logged(command, self.env, self.log_path)
        processes.wait_until_answering(self.process, f"{self.url}/readyz", "api", self.log_path)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM and wait; SIGKILL when it does not stop in time."""
        processes.stop(self.process, timeout)


def start_api(env: dict[str, str], log_path: Path) -> ApiProcess:
    """Start ``apranova api`` with extra ``env`` on a free port; wait until ready."""
    return ApiProcess(env=dict(env), log_path=Path(log_path)).start()
