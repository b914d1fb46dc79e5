"""Runs ``apranova operator`` as a subprocess for end-to-end tests, and handles enrollments.

Health and metrics listen on free ports of 127.0.0.1, so several operators (one per test run)
can share a machine. ``start_operator`` returns once the health endpoint answers. The enrollment
helpers below create, read, wait for and delete ``StudentEnrollment`` objects.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from apranova.local.postgres import free_port
from apranova_contract.labels import ENROLLMENT_PLURAL as PLURAL
from apranova_contract.labels import GROUP, VERSION
from tests.support import processes


@dataclass
class OperatorProcess:
    """One ``apranova operator`` subprocess; ``restart`` keeps its ports and log file."""

    kubeconfig: str
    env: dict[str, str]
    log_path: Path
    health_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    python: str = sys.executable
    """The interpreter to run it with (another checkout's, to compare two versions)."""

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/healthz"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> OperatorProcess:
        environment = {
            "KUBECONFIG": self.kubeconfig,
            "OPERATOR_HEALTH_HOST": "127.0.0.1",
            "OPERATOR_HEALTH_PORT": str(self.health_port),
            "OPERATOR_METRICS_PORT": str(self.metrics_port),
            **self.env,
        }
        # -P: another checkout's interpreter imports its own code, not the working directory's.
        isolated = ["-P"] if self.python != sys.executable else []
        command = [self.python, *isolated, "-m", "apranova.cli", "operator"]
        self.process = processes.start_logged(command, environment, self.log_path)
        processes.wait_until_answering(self.process, self.health_url, "operator", self.log_path)
        return self

    def metrics(self) -> str:
        """The Prometheus exposition text of the running operator."""
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            return response.read().decode()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM and wait; SIGKILL when it does not stop in time."""
        processes.stop(self.process, timeout)

    def kill(self) -> None:
        """SIGKILL: the operator dies mid-work, as on a node failure."""
        processes.kill(self.process)

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


def create_enrollments(
    objects: Any, names: list[str], track: str, labels: dict[str, str], workers: int = 8
) -> None:
    """Create one enrollment per name (``enrollment_body``) at once, ``workers`` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def create(name: str) -> None:
        objects.create_cluster_custom_object(
            GROUP, VERSION, PLURAL, enrollment_body(name, track, labels)
        )

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(create, names))


def get_enrollment(objects: Any, name: str) -> dict[str, Any] | None:
    """The enrollment ``name`` (a ``CustomObjectsApi`` reads it), or ``None`` when there is none."""
    from kubernetes.client.exceptions import ApiException

    try:
        return objects.get_cluster_custom_object(GROUP, VERSION, PLURAL, name)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def condition(enrollment: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    """The status condition of type ``kind`` of ``enrollment``, if it has one."""
    for item in ((enrollment or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return item
    return None


def wait_condition(
    objects: Any,
    name: str,
    kind: str,
    status: str,
    reason: str = "",
    timeout: float = 180.0,
) -> dict[str, Any]:
    """Wait until condition ``kind`` of enrollment ``name`` has ``status`` (and ``reason``, if
    given); the enrollment as it was then."""

    def probe() -> dict[str, Any] | None:
        enrollment = get_enrollment(objects, name)
        found = condition(enrollment, kind)
        matches = found and found["status"] == status and (not reason or found["reason"] == reason)
        return enrollment if matches else None

    return wait_for(probe, timeout, f"{kind}={status} {reason} on {name}")


def delete_enrollment(objects: Any, name: str, timeout: float = 180.0) -> None:
    """Delete enrollment ``name`` (if it is there) and wait until the operator has let it go."""
    from kubernetes.client.exceptions import ApiException

    try:
        objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, name)
    except ApiException as error:
        if error.status != 404:
            raise
    wait_for(lambda: get_enrollment(objects, name) is None, timeout, f"{name} deleted")


def delete_enrollments(api_client: Any, selector: str, timeout: float = 300.0) -> None:
    """Delete every enrollment matching ``selector`` and wait until they are gone.

    Call it before stopping a test's operator: an enrollment holds the operator's finalizer, so
    one left behind would stay Terminating forever once no operator serves its selector.
    """
    from kubernetes import client

    objects = client.CustomObjectsApi(api_client)

    def remaining() -> list[dict[str, Any]]:
        return objects.list_cluster_custom_object(GROUP, VERSION, PLURAL, label_selector=selector)[
            "items"
        ]

    for item in remaining():
        if not item["metadata"].get("deletionTimestamp"):
            objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, item["metadata"]["name"])
    wait_for(lambda: not remaining(), timeout, f"enrollments {selector} to be deleted")


@contextmanager
def operator_for_test_run(
    kubeconfig: str, api_client: Any, selector: str, env: dict[str, str], log_path: Path
) -> Iterator[OperatorProcess]:
    """An operator that serves only the enrollments matching ``selector``.

    On the way out it deletes those enrollments while it still runs (see
    :func:`delete_enrollments`), then stops.
    """
    process = start_operator(kubeconfig, {"ENROLLMENT_SELECTOR": selector, **env}, log_path)
    try:
        yield process
    finally:
        delete_enrollments(api_client, selector)
        process.stop()
