"""Start, wait for and stop the subprocesses end-to-end tests run (``apranova api``, ``operator``).

Each process appends its stdout and stderr to a log file in the test output, which every error
here names, since that is where the reason for a failed start is.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

START_TIMEOUT = 90.0


def start_logged(
    command: list[str], env: Mapping[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """Start ``command`` with ``env`` on top of this environment; output goes to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )


def wait_until_answering(
    process: subprocess.Popen[bytes],
    url: str,
    what: str,
    log_path: Path,
    timeout: float = START_TIMEOUT,
) -> None:
    """Poll ``url`` until it answers 200.

    Raises ``RuntimeError`` when ``process`` exits first, and ``TimeoutError`` (after stopping
    the process) when it does not answer within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    stop(process)
    raise TimeoutError(f"{what} not answering {url} within {timeout}s; see {log_path}")


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    """SIGTERM and wait; SIGKILL when it does not stop in time."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(process)


def kill(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL and wait for the process to be gone."""
    if process is None or process.poll() is not None:
        return
    process.kill()
    process.wait(timeout=30)
