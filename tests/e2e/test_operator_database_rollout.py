"""Tools roll when their database credentials change: local control plane, real PostgreSQL.

The tool Deployments read the ``student-database`` Secret through optional references, which a
container reads only when it starts. Their pod templates carry the digest of the Secret's data,
so a Secret that appears or is rewritten with a rotated password rolls them. Here the Secret is
deleted by hand: the operator rotates the password, rewrites the Secret and the Deployments roll.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from apranova_contract import names
from apranova_contract.labels import ENROLLMENT_PLURAL as PLURAL
from apranova_contract.labels import GROUP, VERSION
from apranova_operator.database.credentials import SECRET_NAME
from apranova_operator.render.tools import DATABASE_CREDENTIALS_ANNOTATION, credentials_digest
from tests.e2e.test_database_adapter import Server, student_data_server
from tests.support.operator_process import (
    OperatorProcess,
    delete_enrollments,
    enrollment_body,
    start_operator,
    wait_for,
)

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.timeout(600)]

SUFFIX = secrets.token_hex(3)
SELECTOR = ("apranova.io/test-run", f"dbroll-{SUFFIX}")
USERNAME = f"roll-{SUFFIX}"
NAMESPACE = names.namespace_name(USERNAME)
DATABASE_TOOLS = ("jupyter", "superset", "prefect")
WAIT = 180.0


@pytest.fixture(scope="module")
def database(postgres_server: Any) -> Iterator[Server]:
    with student_data_server(postgres_server, f"rl{SUFFIX}") as server:
        yield server


@pytest.fixture(scope="module")
def operator(
    crds_applied: str, k8s_api_client: client.ApiClient, database: Server, test_output_dir: Path
) -> Iterator[OperatorProcess]:
    process = start_operator(
        crds_applied,
        {
            "ENROLLMENT_SELECTOR": f"{SELECTOR[0]}={SELECTOR[1]}",
            "STUDENT_DB_ADMIN_URL": database.admin_url,
            "STUDENT_DB_POOL_SIZE": "2",
            "RETRY_BASE_SECONDS": "1",
        },
        test_output_dir / f"operator-dbroll-{SUFFIX}.log",
    )
    try:
        yield process
    finally:
        delete_enrollments(k8s_api_client, f"{SELECTOR[0]}={SELECTOR[1]}")
        process.stop()


def _condition(enrollment: dict[str, Any] | None, kind: str) -> str | None:
    for item in ((enrollment or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == kind:
            return item.get("status")
    return None


def _enrollment(custom: client.CustomObjectsApi) -> dict[str, Any] | None:
    try:
        return custom.get_cluster_custom_object(GROUP, VERSION, PLURAL, USERNAME)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def _secret(core: client.CoreV1Api) -> dict[str, str] | None:
    try:
        body = core.read_namespaced_secret(SECRET_NAME, NAMESPACE)
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return {key: base64.b64decode(value).decode() for key, value in (body.data or {}).items()}


def _templates(apps: client.AppsV1Api) -> dict[str, tuple[str | None, int]]:
    """Per database tool: its pod template's credentials annotation and its generation."""
    found = {}
    for name in DATABASE_TOOLS:
        deployment = apps.read_namespaced_deployment(name, NAMESPACE)
        annotations = deployment.spec.template.metadata.annotations or {}
        found[name] = (
            annotations.get(DATABASE_CREDENTIALS_ANNOTATION),
            deployment.metadata.generation,
        )
    return found


def _all_carry(apps: client.AppsV1Api, digest: str) -> dict[str, tuple[str | None, int]] | None:
    found = _templates(apps)
    return found if all(value == digest for value, _ in found.values()) else None


def _login_works(data: dict[str, str]) -> bool:
    try:
        connection = psycopg2.connect(data["libpq_url"], connect_timeout=5)
    except psycopg2.OperationalError:
        return False
    connection.close()
    return True


def test_deleted_secret_is_rotated_and_the_tools_roll(
    operator: OperatorProcess, k8s_api_client: client.ApiClient
) -> None:
    custom = client.CustomObjectsApi(k8s_api_client)
    core = client.CoreV1Api(k8s_api_client)
    apps = client.AppsV1Api(k8s_api_client)
    body = enrollment_body(USERNAME, "DP", labels={SELECTOR[0]: SELECTOR[1]})
    custom.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)

    wait_for(lambda: _condition(_enrollment(custom), "Ready") == "True", WAIT, f"{USERNAME} Ready")
    first = _secret(core)
    assert first is not None
    first_digest = credentials_digest(first)
    before = wait_for(lambda: _all_carry(apps, first_digest), WAIT, "the first digest")
    for value in first.values():
        assert value not in first_digest

    core.delete_namespaced_secret(SECRET_NAME, NAMESPACE)
    second = wait_for(
        lambda: (found := _secret(core)) and found["password"] != first["password"] and found,
        WAIT,
        "the operator to rewrite the Secret with a rotated password",
    )
    second_digest = credentials_digest(second)
    assert second_digest != first_digest
    after = wait_for(lambda: _all_carry(apps, second_digest), WAIT, "the Deployments to roll")
    for name in DATABASE_TOOLS:
        assert after[name][1] > before[name][1], f"{name} did not get a new pod template"
    wait_for(lambda: _login_works(second), WAIT, "the rotated password to be set on the role")
    assert not _login_works(first)

    # Idempotent: the next reconciles (the Deployments' own status changes trigger them) leave
    # the templates alone.
    wait_for(
        lambda: _condition(_enrollment(custom), "Ready") == "True", WAIT, f"{USERNAME} Ready again"
    )
    time.sleep(5)
    assert _templates(apps) == after
    assert _secret(core) == second
