"""The two data-safety cases of issue 16, end to end: local control plane, real PostgreSQL, the
real operator.

1. A student who set default privileges in database ``postgres`` with their own credentials can
   still be deleted: namespace, role and schema all go.
2. Renaming a tool in a Track keeps the old tool's data claim (labelled, Event, condition);
   renaming it back finds the same claim; only the opt-in annotation deletes a kept claim.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from apranova_contract import names
from apranova_operator.database.settings import parse_admin_url
from apranova_operator.render import retention
from tests.e2e.test_database_adapter import Server, student_data_server
from tests.e2e.test_database_operator import read_secret, role_count, schema_count
from tests.support.operator_process import (
    GROUP,
    PLURAL,
    VERSION,
    OperatorProcess,
    condition,
    delete_enrollment,
    enrollment_body,
    get_enrollment,
    operator_for_test_run,
    wait_condition,
    wait_for,
)

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.timeout(600)]

RUN = secrets.token_hex(3)
RUN_LABELS = {"apranova.io/test-run": f"safety-{RUN}"}
ROOT = Path(__file__).resolve().parents[2]
WAIT = 180.0


@pytest.fixture(scope="module")
def database(postgres_server: Any) -> Iterator[Server]:
    with student_data_server(postgres_server, f"sf{RUN}") as server:
        yield server


@pytest.fixture(scope="module")
def operator(
    crds_applied: str,
    k8s_api_client: client.ApiClient,
    database: Server,
    test_output_dir: Path,
) -> Iterator[OperatorProcess]:
    with operator_for_test_run(
        crds_applied,
        k8s_api_client,
        f"apranova.io/test-run=safety-{RUN}",
        {"STUDENT_DB_ADMIN_URL": database.admin_url, "RETRY_BASE_SECONDS": "1"},
        test_output_dir / f"operator-safety-{RUN}.log",
    ) as process:
        yield process


def _enroll(objects: client.CustomObjectsApi, name: str, track: str) -> None:
    objects.create_cluster_custom_object(
        GROUP, VERSION, PLURAL, enrollment_body(name, track, RUN_LABELS)
    )


def _namespace_exists(core: client.CoreV1Api, namespace: str) -> bool:
    try:
        core.read_namespace(namespace)
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def test_default_privileges_in_postgres_do_not_block_deletion(
    operator: OperatorProcess,
    database: Server,
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
) -> None:
    username = f"sf{RUN}-defaults"
    _enroll(objects, username, "DP")
    wait_condition(objects, username, "DatabaseReady", "True", timeout=WAIT)
    data = wait_for(lambda: read_secret(core, username), WAIT, "the student-database Secret")
    # A fresh server lets PUBLIC connect to `postgres`; an earlier test that used `postgres` as
    # its student database may have taken that away (the hardening the README recommends).
    admin = database.superuser()
    with admin.cursor() as cursor:
        cursor.execute("GRANT CONNECT ON DATABASE postgres TO PUBLIC")
    admin.close()
    student = parse_admin_url(data["libpq_url"]) | {"dbname": "postgres"}
    connection = psycopg2.connect(**student)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC")
    connection.close()

    delete_enrollment(objects, username, timeout=WAIT)
    assert not _namespace_exists(core, names.namespace_name(username))
    assert (role_count(database, username), schema_count(database, username)) == (0, 0)


def _track_with_tool(name: str, tool: str) -> dict[str, Any]:
    track = yaml.safe_load((ROOT / "manifests" / "tracks" / "fsd.yaml").read_text())
    track["metadata"] = {"name": name}
    track["spec"]["integrations"] = {"discord": False, "github": False}
    track["spec"]["tools"][0]["name"] = tool
    return track


@pytest.fixture
def own_track(objects: client.CustomObjectsApi) -> Iterator[str]:
    name = f"sf{RUN}"
    objects.create_cluster_custom_object(GROUP, VERSION, "tracks", _track_with_tool(name, "code"))
    yield name
    objects.delete_cluster_custom_object(GROUP, VERSION, "tracks", name)


def _rename_tool(objects: client.CustomObjectsApi, track: str, tool: str) -> None:
    body = objects.get_cluster_custom_object(GROUP, VERSION, "tracks", track)
    tools = copy.deepcopy(body["spec"]["tools"])
    tools[0]["name"] = tool
    objects.patch_cluster_custom_object(GROUP, VERSION, "tracks", track, {"spec": {"tools": tools}})


def _claim(core: client.CoreV1Api, namespace: str, name: str) -> client.V1PersistentVolumeClaim:
    try:
        return core.read_namespaced_persistent_volume_claim(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def _retained(claim: Any) -> bool:
    return bool(claim) and (claim.metadata.labels or {}).get(retention.RETAINED_LABEL) == "true"


def _tools(objects: client.CustomObjectsApi, name: str) -> list[str]:
    status = (get_enrollment(objects, name) or {}).get("status") or {}
    return [tool["name"] for tool in status.get("tools") or []]


def _events(core: client.CoreV1Api, name: str, reason: str) -> list[str]:
    found = core.list_event_for_all_namespaces(
        field_selector=f"involvedObject.name={name},reason={reason}"
    )
    return [event.message for event in found.items]


def test_renaming_a_tool_keeps_its_data_and_renaming_back_finds_it(
    operator: OperatorProcess,
    own_track: str,
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
) -> None:
    name = f"sf{RUN}-rename"
    namespace = names.namespace_name(name)
    _enroll(objects, name, own_track)
    wait_condition(objects, name, "Ready", "True", timeout=WAIT)
    original = _claim(core, namespace, "code-data")
    assert original is not None and not _retained(original)

    _rename_tool(objects, own_track, "ide")
    wait_for(lambda: _tools(objects, name) == ["ide"], WAIT, "the tool renamed to ide")
    kept = wait_for(
        lambda: condition(get_enrollment(objects, name), retention.DATA_RETAINED),
        WAIT,
        "the DataRetained condition",
    )
    assert kept["status"] == "True" and "code-data" in kept["message"]
    claim = _claim(core, namespace, "code-data")
    assert claim.metadata.uid == original.metadata.uid and _retained(claim)
    assert (
        "tool code is no longer in track" in claim.metadata.annotations[retention.RETAINED_REASON]
    )
    assert _claim(core, namespace, "ide-data") is not None
    assert not apps.list_namespaced_deployment(
        namespace, label_selector="apranova.io/tool=code"
    ).items
    assert any("code-data" in m for m in _events(core, name, "DataRetained"))
    ready = wait_condition(objects, name, "Ready", "True", timeout=WAIT)
    assert condition(ready, retention.DATA_RETAINED)["status"] == "True"

    _rename_tool(objects, own_track, "code")
    wait_for(lambda: _tools(objects, name) == ["code"], WAIT, "the tool renamed back to code")
    wait_for(
        lambda: (
            not _retained(_claim(core, namespace, "code-data"))
            and _retained(_claim(core, namespace, "ide-data"))
        ),
        WAIT,
        "code-data in use again and ide-data kept",
    )
    assert _claim(core, namespace, "code-data").metadata.uid == original.metadata.uid
    wait_condition(objects, name, "Ready", "True", timeout=WAIT)

    objects.patch_cluster_custom_object(
        GROUP,
        VERSION,
        PLURAL,
        name,
        {"metadata": {"annotations": {retention.DELETE_OPT_IN: "ide"}}},
    )
    wait_for(lambda: _claim(core, namespace, "ide-data") is None, WAIT, "ide-data deleted")
    wait_for(
        lambda: condition(get_enrollment(objects, name), retention.DATA_RETAINED) is None,
        WAIT,
        "the DataRetained condition to go",
    )
    assert _claim(core, namespace, "code-data").metadata.uid == original.metadata.uid
    delete_enrollment(objects, name, timeout=WAIT)
