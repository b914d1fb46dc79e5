"""Run a tool exactly as the operator rendered it for an enrollment, as a local process.

Reads the tool's Deployment and Ingress and the namespace's Secrets and ConfigMaps from the
cluster, lets :mod:`apranova.local.tools.kubelet` turn the container into a process (ports,
the bind address and paths mapped; nothing else), starts it from the cached install and waits for
its readiness probe. Tests skip with the installer's exact error when a tool cannot be installed
here.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websocket

from apranova.local.postgres import free_port
from apranova.local.tools import catalog, install, kubelet, runner
from apranova.local.tools.rendered import RenderedTool
from apranova_contract import names

START_TIMEOUT = 240.0
SLOW_TOOLS = pytest.mark.skipif(
    os.environ.get("APRANOVA_TOOLS_SLOW") != "1",
    reason="slow tool contract: run with make test-tools",
)
"""Marks the contract tests that ``make test-tools`` runs (``APRANOVA_TOOLS_SLOW=1``)."""


def installed_or_skip(image: str) -> install.Installed:
    """The cached stand-in for ``image`` (installing it now if needed); skips with the
    installer's exact error when it cannot be installed here."""
    build = catalog.build_for(image)
    assert build is not None, f"no local stand-in is known for image {image}"
    try:
        return install.install(build)
    except install.InstallError as error:
        pytest.skip(f"cannot install {build.key} here: {error}")


@contextmanager
def running(
    rendered: RenderedTool, log_dir: Path, without: frozenset[str] = frozenset()
) -> Iterator[runner.RunningTool]:
    """The tool running from the rendered Deployment until the block ends.

    ``without`` names Secrets treated as absent (as before the database step wrote them).
    """
    done = installed_or_skip(rendered.image)
    root = Path(tempfile.mkdtemp(prefix=f"apranova-{done.build.kind}-"))
    secrets_seen = {k: v for k, v in rendered.secrets.items() if k not in without}
    spec = kubelet.container_to_process(
        rendered.deployment,
        secrets_seen,
        rendered.config_maps,
        done.build,
        done.bin_dir,
        root,
        free_port(),
    )
    tool = runner.start(spec, log_dir / f"{done.build.key}-{secrets.token_hex(3)}.log")
    try:
        tool.wait_ready(START_TIMEOUT)
        yield tool
    finally:
        tool.stop()


def run_in_kernel(base_url: str, token: str, code: str, timeout: float = 60.0) -> str:
    """Start a kernel through the Jupyter server's REST API, run ``code``, return its output
    (stdout, then the error's name and value when it raised), and shut the kernel down."""
    import httpx

    headers = {"Authorization": f"token {token}"}
    kernel = httpx.post(f"{base_url}/api/kernels", headers=headers, json={}, timeout=30).json()
    ws_url = base_url.replace("http://", "ws://") + f"/api/kernels/{kernel['id']}/channels"
    connection = websocket.create_connection(ws_url, header=headers, timeout=timeout)
    try:
        msg_id = uuid.uuid4().hex
        connection.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": "test",
                        "session": uuid.uuid4().hex,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                    },
                    "channel": "shell",
                }
            )
        )
        output: list[str] = []
        while True:
            message = json.loads(connection.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                output.append(content["text"])
            elif kind == "error":
                output.append(f"{content['ename']}: {content['evalue']}\n")
            elif kind == "execute_reply":
                return "".join(output)
    finally:
        connection.close()
        httpx.delete(f"{base_url}/api/kernels/{kernel['id']}", headers=headers, timeout=30)


@dataclass(frozen=True)
class Environment:
    """Enrollments the operator provisioned for tool tests, and the student-data server."""

    usernames: tuple[str, ...]
    database: Any
    """:class:`tests.e2e.test_database_adapter.Server`, or ``None`` without a database."""
    label_selector: str = ""
    """The label selector of these enrollments (the operator's ``ENROLLMENT_SELECTOR``)."""


def wait_rendered_with_database(apps: Any, username: str, tool: str, timeout: float) -> None:
    """Wait until the tool's Deployment was rendered after ``student-database`` existed."""
    from kubernetes.client.exceptions import ApiException

    from apranova_operator.render.context import CREDENTIALS_ABSENT
    from apranova_operator.render.tools import DATABASE_CREDENTIALS_ANNOTATION
    from tests.support.operator_process import wait_for

    def rendered() -> bool:
        try:
            found = apps.read_namespaced_deployment(tool, names.namespace_name(username))
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        digest = (found.spec.template.metadata.annotations or {}).get(
            DATABASE_CREDENTIALS_ANNOTATION, CREDENTIALS_ABSENT
        )
        return digest != CREDENTIALS_ABSENT

    wait_for(rendered, timeout, f"{tool} of {username} rendered with its database Secret")


@contextmanager
def provisioned(
    kubeconfig: str,
    postgres_server: Any,
    output: Path,
    track: str,
    usernames: tuple[str, ...],
    first_tool: str,
) -> Iterator[Environment]:
    """An operator (only for these enrollments) with a real student-data PostgreSQL, and one
    enrollment of ``track`` per username, each rendered up to ``first_tool``'s Deployment (after
    its database Secret when the track has a database); all deleted afterwards."""
    from kubernetes import client, config

    from tests.e2e.test_database_adapter import student_data_server
    from tests.support.operator_process import (
        GROUP,
        PLURAL,
        VERSION,
        delete_enrollment,
        enrollment_body,
        start_operator,
        wait_for,
    )

    suffix = secrets.token_hex(3)
    label = ("apranova.io/test-run", f"tools-{suffix}")
    api_client = config.new_client_from_config(config_file=kubeconfig)
    objects, apps = client.CustomObjectsApi(api_client), client.AppsV1Api(api_client)
    with student_data_server(postgres_server, f"tools{suffix}") as database:
        operator = start_operator(
            kubeconfig,
            {
                "ENROLLMENT_SELECTOR": f"{label[0]}={label[1]}",
                "STUDENT_DB_ADMIN_URL": database.admin_url,
                "STUDENT_DB_POOL_SIZE": "2",
            },
            output / f"operator-tools-{suffix}.log",
        )
        try:
            for username in usernames:
                body = enrollment_body(username, track, labels={label[0]: label[1]})
                objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)
            for username in usernames:
                if track == "dp":
                    wait_rendered_with_database(apps, username, first_tool, 180)
                else:
                    wait_for(
                        lambda u=username: (
                            apps.list_namespaced_deployment(names.namespace_name(u)).items
                        ),
                        180,
                        f"{first_tool} of {username} rendered",
                    )
            yield Environment(
                usernames, database if track == "dp" else None, f"{label[0]}={label[1]}"
            )
        finally:
            for username in usernames:
                delete_enrollment(objects, username)
            operator.stop()
            api_client.close()
