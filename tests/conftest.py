"""Session fixtures shared by every test: the local control plane, PostgreSQL, an output folder.

Unit tests use none of them. The control plane is started once (or reused when already running,
for example by ``make run``) under a file lock, so several pytest processes can share it; it is
left running for the next run (``apranova cluster down`` stops it), except in CI (``CI`` set),
where the session that started it stops it; ``APRANOVA_KEEP_CLUSTER=1`` or ``0`` overrides.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from apranova.local import cluster
from apranova.local.postgres import LocalPostgres, free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def test_output_dir() -> Path:
    """A folder for this run's logs and screenshots: ``test-output/run-<time>-<pid>/``."""
    base = Path(os.environ.get("APRANOVA_TEST_OUTPUT", PROJECT_ROOT / "test-output"))
    path = base / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[str]:
    """An admin kubeconfig for the local control plane, started here or reused."""
    layout = cluster.Layout.from_env()
    already_running = all(cluster.running_pid(layout, c) for c in cluster.COMPONENTS)
    path = cluster.up(layout, quiet=True)
    yield str(path)
    keep = os.environ.get("APRANOVA_KEEP_CLUSTER", "0" if os.environ.get("CI") else "1")
    if not already_running and keep != "1":
        cluster.down(layout, quiet=True)


@pytest.fixture(scope="session")
def k8s_api_client(kubeconfig: str):
    """A ``kubernetes.client.ApiClient`` for the admin kubeconfig."""
    from kubernetes import config

    client = config.new_client_from_config(config_file=kubeconfig)
    yield client
    client.close()


def kubectl(
    kubeconfig: str, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """Run the control plane's own kubectl against ``kubeconfig``."""
    result = subprocess.run(
        [str(cluster.binary("kubectl")), f"--kubeconfig={kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result


@pytest.fixture(scope="session")
def objects(k8s_api_client):
    """A ``CustomObjectsApi`` (enrollments, tracks) for the admin kubeconfig."""
    from kubernetes import client

    return client.CustomObjectsApi(k8s_api_client)


@pytest.fixture(scope="session")
def core(k8s_api_client):
    """A ``CoreV1Api`` for the admin kubeconfig."""
    from kubernetes import client

    return client.CoreV1Api(k8s_api_client)


@pytest.fixture(scope="session")
def apps(k8s_api_client):
    """An ``AppsV1Api`` for the admin kubeconfig."""
    from kubernetes import client

    return client.AppsV1Api(k8s_api_client)


@pytest.fixture(scope="session")
def networking(k8s_api_client):
    """A ``NetworkingV1Api`` for the admin kubeconfig."""
    from kubernetes import client

    return client.NetworkingV1Api(k8s_api_client)


def _apply_as_tests(kubeconfig: str, paths: list[Path]) -> None:
    """Server-side apply each file, taking over fields another manager set."""
    for path in paths:
        kubectl(
            kubeconfig,
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=apranova-tests",
            "-f",
            str(path),
        )


@pytest.fixture(scope="session")
def crds_applied(kubeconfig: str) -> str:
    """Every CRD in ``crds/`` and the default tracks in ``manifests/tracks/``, applied."""
    crd_files = sorted((PROJECT_ROOT / "crds").glob("*.yaml"))
    track_files = sorted((PROJECT_ROOT / "manifests" / "tracks").glob("*.yaml"))
    layout = cluster.Layout.from_env()
    layout.local.mkdir(parents=True, exist_ok=True)
    with FileLock(str(layout.local / "crds.lock")):
        _apply_as_tests(kubeconfig, crd_files)
        if crd_files:
            kubectl(
                kubeconfig,
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                *[f"-f={p}" for p in crd_files],
            )
        _apply_as_tests(kubeconfig, track_files)
    return kubeconfig


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """A throw-away PostgreSQL server for this test session, on a free port."""
    root = Path(tempfile.mkdtemp(prefix="apranova-pg-"))
    server = LocalPostgres(root, free_port(), secrets.token_urlsafe(16))
    server.init()
    server.start()
    yield server
    server.destroy()
