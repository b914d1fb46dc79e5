"""Runs ``apranova operator`` as a subprocess for end-to-end tests.

Health and metrics listen on free ports of 127.0.0.1, so several operators (one per test run)
can share a machine. ``start_operator`` returns once the health endpoint answers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

_START_TIMEOUT = 90.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OperatorProcess:
    """One ``apranova operator`` subprocess; ``restart`` keeps its ports and log file."""

    kubeconfig: str
    env: dict[str, str]
    log_path: Path
    health_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/healthz"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> OperatorProcess:
        environment = {
            **os.environ,
            "KUBECONFIG": self.kubeconfig,
            "OPERATOR_HEALTH_HOST": "127.0.0.1",
            "OPERATOR_HEALTH_PORT": str(self.health_port),
            "OPERATOR_METRICS_PORT": str(self.metrics_port),
            **self.env,
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "apranova.cli", "operator"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"operator exited with {self.process.returncode}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(self.health_url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        self.kill()
        raise TimeoutError(f"operator not healthy within {_START_TIMEOUT}s; see {self.log_path}")

    def metrics(self) -> str:
        """The Prometheus exposition text of the running operator."""
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            return response.read().decode()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM and wait; SIGKILL when it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the operator dies mid-work, as on a node failure."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(timeout=30)

    def restart(self) -> OperatorProcess:
        self.stop()
        return self.start()


def start_operator(kubeconfig: str, env: dict[str, str], log_path: Path) -> OperatorProcess:
    """Start ``apranova operator`` against ``kubeconfig`` with extra ``env``; wait until healthy."""
    return OperatorProcess(kubeconfig=kubeconfig, env=dict(env), log_path=log_path).start()


T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 120.0,
    what: str = "condition",
    interval: float = 0.5,
) -> T:
    """Poll ``predicate`` until it returns something truthy; that value, or ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def enrollment_body(
    username: str,
    track: str,
    labels: dict[str, str] | None = None,
    email: str | None = None,
    suspended: bool = False,
) -> dict[str, Any]:
    """A valid ``StudentEnrollment`` for tests (name = username)."""
    return {
        "apiVersion": "apranova.io/v1alpha1",
        "kind": "StudentEnrollment",
        "metadata": {"name": username, "labels": dict(labels or {})},
        "spec": {
            "student": {
                "id": "1",
                "email": email or f"{username}@example.com",
                "name": "Test Student",
                "username": username,
            },
            "track": track,
            "payment": {
                "provider": "stripe",
                "checkoutSessionId": "cs_test_1",
                "paymentIntentId": "pi_test_1",
                "amountTotal": 49900,
                "currency": "usd",
            },
            "suspended": suspended,
        },
    }


def delete_enrollments(api_client: Any, selector: str, timeout: float = 300.0) -> None:
    """Delete every enrollment matching ``selector`` and wait until they are gone.

    Call it before stopping a test's operator: an enrollment holds the operator's finalizer, so
    one left behind would stay Terminating forever once no operator serves its selector.
    """
    from kubernetes import client

    objects = client.CustomObjectsApi(api_client)
    group, version, plural = "apranova.io", "v1alpha1", "studentenrollments"

    def remaining() -> list[dict[str, Any]]:
        return objects.list_cluster_custom_object(group, version, plural, label_selector=selector)[
            "items"
        ]

    for item in remaining():
        if not item["metadata"].get("deletionTimestamp"):
            objects.delete_cluster_custom_object(group, version, plural, item["metadata"]["name"])
    wait_for(lambda: not remaining(), timeout, f"enrollments {selector} to be deleted")
