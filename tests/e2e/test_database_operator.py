"""The operator provisions student databases: local control plane, real PostgreSQL, real operator.

The operator only sees this module's enrollments (``ENROLLMENT_SELECTOR``), and its admin role
is no superuser.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from apranova_contract import names
from apranova_operator.database.credentials import SECRET_KEYS, SECRET_NAME
from tests.e2e.test_database_adapter import Server, student_data_server
from tests.support.operator_process import (
    GROUP,
    PLURAL,
    VERSION,
    OperatorProcess,
    condition,
    delete_enrollment,
    enrollment_body,
    start_operator,
    wait_condition,
    wait_for,
)

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.timeout(600)]

SUFFIX = secrets.token_hex(3)
RUN_LABEL = ("apranova.io/test-run", f"database-{SUFFIX}")
WAIT = 180.0


@pytest.fixture(scope="module")
def database(postgres_server: Any) -> Iterator[Server]:
    with student_data_server(postgres_server, f"op{SUFFIX}") as server:
        yield server


@pytest.fixture(scope="module")
def operator(
    crds_applied: str, database: Server, test_output_dir: Path
) -> Iterator[OperatorProcess]:
    process = start_operator(
        crds_applied,
        {
            "ENROLLMENT_SELECTOR": f"{RUN_LABEL[0]}={RUN_LABEL[1]}",
            "STUDENT_DB_ADMIN_URL": database.admin_url,
            "STUDENT_DB_POOL_SIZE": "2",
            "STUDENT_DB_CONNECTION_LIMIT": "5",
        },
        test_output_dir / f"operator-database-{SUFFIX}.log",
    )
    yield process
    process.stop()


def create_enrollment(objects: client.CustomObjectsApi, username: str, track: str) -> None:
    body = enrollment_body(username, track, labels={RUN_LABEL[0]: RUN_LABEL[1]})
    objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)


def read_secret(core: client.CoreV1Api, username: str) -> dict[str, str] | None:
    try:
        secret = core.read_namespaced_secret(SECRET_NAME, names.namespace_name(username))
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return {key: base64.b64decode(value).decode() for key, value in (secret.data or {}).items()}


def role_count(database: Server, username: str) -> int:
    return database.one(
        "SELECT count(*) FROM pg_roles WHERE rolname = %s", names.role_name(username)
    )[0]


def schema_count(database: Server, username: str) -> int:
    return database.one(
        "SELECT count(*) FROM pg_namespace WHERE nspname = %s", names.schema_name(username)
    )[0]


@pytest.fixture
def username(objects: client.CustomObjectsApi) -> Iterator[str]:
    name = f"db-{SUFFIX}-{secrets.token_hex(2)}"
    yield name
    delete_enrollment(objects, name)


def test_dp_enrollment_gets_schema_role_and_secret_then_delete_removes_them(
    operator: OperatorProcess,
    database: Server,
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    username: str,
) -> None:
    create_enrollment(objects, username, "DP")
    enrollment = wait_condition(objects, username, "DatabaseReady", "True")
    schema = names.schema_name(username)
    assert enrollment["status"]["database"] == {
        "schema": schema,
        "secretName": SECRET_NAME,
        "ready": True,
    }
    data = wait_for(lambda: read_secret(core, username), WAIT, "the student-database Secret")
    assert set(data) == SECRET_KEYS
    assert (data["user"], data["schema"], data["database"]) == (
        names.role_name(username),
        schema,
        database.database,
    )
    with psycopg2.connect(data["libpq_url"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_schema()")
        assert cursor.fetchone() == (data["user"], schema)
        cursor.execute("CREATE TABLE notebook (cell text)")
    connection.close()
    ready = wait_condition(objects, username, "Ready", "True")
    assert data["password"] not in json.dumps(ready)
    assert data["password"] not in operator.log_path.read_text(errors="replace")
    delete_enrollment(objects, username)
    assert (role_count(database, username), schema_count(database, username)) == (0, 0)


def test_database_outage_during_provisioning_heals_by_itself(
    operator: OperatorProcess,
    database: Server,
    postgres_server: Any,
    objects: client.CustomObjectsApi,
    username: str,
) -> None:
    postgres_server.stop()
    try:
        create_enrollment(objects, username, "DP")
        down = wait_condition(objects, username, "DatabaseReady", "False", "DatabaseUnavailable")
        assert down["status"]["database"]["ready"] is False
        assert condition(down, "Ready")["status"] == "False"
        wait_condition(objects, username, "NamespaceReady", "True")
        failed_attempt = f"database step for {username} not ready"
        wait_for(
            lambda: operator.log_path.read_text(errors="replace").count(failed_attempt) >= 2,
            WAIT,
            "the operator to retry the database step while the server is down",
        )
    finally:
        postgres_server.start()
    healed = wait_condition(objects, username, "Ready", "True")
    assert condition(healed, "DatabaseReady")["status"] == "True"
    assert healed["status"]["database"]["ready"] is True
    assert role_count(database, username) == 1
    delete_enrollment(objects, username)
    assert role_count(database, username) == 0


def test_fsd_enrollment_creates_nothing_in_the_database(
    operator: OperatorProcess,
    database: Server,
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    username: str,
) -> None:
    create_enrollment(objects, username, "FSD")
    enrollment = wait_condition(objects, username, "NamespaceReady", "True")
    assert condition(enrollment, "DatabaseReady") is None
    assert "database" not in enrollment["status"]
    assert read_secret(core, username) is None
    assert (role_count(database, username), schema_count(database, username)) == (0, 0)
