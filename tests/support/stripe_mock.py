"""Stripe's official mock server, stripe-mock, started once per test process on 127.0.0.1.

``hack/build-stripe-mock.sh`` builds it into ``~/.cache/apranova/stripe-mock/<version>/`` (``make
test`` and ``make test-unit`` run it first; a missing binary is built here the same way).
stripe-mock validates every request against Stripe's OpenAPI description (unknown parameters,
bad enums, wrong types answer 400) and answers with Stripe's fixtures, but keeps no state: the
Stripe stand-in (``tests/support/stripe_standin.py``) forwards each request here first.
"""

from __future__ import annotations

import atexit
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = PROJECT_ROOT / "hack" / "build-stripe-mock.sh"
START_TIMEOUT_SECONDS = 30.0

_lock = threading.Lock()
_process: subprocess.Popen[bytes] | None = None
_url: str | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binary() -> Path:
    """The cached stripe-mock binary, built first when it is missing."""
    printed = subprocess.check_output(["bash", str(BUILD_SCRIPT), "--print-bin"], text=True)
    path = Path(printed.strip())
    if not path.exists():
        subprocess.run(["bash", str(BUILD_SCRIPT)], check=True)
    return path


def _wait_until_answering(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            raise RuntimeError(f"stripe-mock exited with {process.returncode}: {output}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer (401 without a key) means it is serving
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    process.kill()
    raise TimeoutError(f"stripe-mock did not answer on {url} within {START_TIMEOUT_SECONDS}s")


def _stop() -> None:
    if _process is not None and _process.poll() is None:
        _process.terminate()
        try:
            _process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _process.kill()


def stripe_mock_url() -> str:
    """``http://127.0.0.1:<port>`` of this process's stripe-mock, started on first use."""
    global _process, _url
    with _lock:
        if _url is not None and _process is not None and _process.poll() is None:
            return _url
        port = _free_port()
        log_path = Path(tempfile.mkdtemp(prefix="stripe-mock-")) / "stripe-mock.log"
        with log_path.open("wb") as log:
            _process = subprocess.Popen(
                # Without -https-addr it would also listen on the fixed port 12112 (taken by any
                # other test process running stripe-mock).
                [
                    str(binary()),
                    "-http-addr",
                    f"127.0.0.1:{port}",
                    "-https-addr",
                    f"127.0.0.1:{_free_port()}",
                ],
                stdout=log,
                stderr=log,
            )
        _url = f"http://127.0.0.1:{port}"
        atexit.register(_stop)
        _wait_until_answering(_process, f"{_url}/v1/charges", log_path)
        return _url
