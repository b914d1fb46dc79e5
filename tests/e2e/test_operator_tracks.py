"""The operator against the local control plane: FSD, suspension, track changes, bad input.

Tracks that a test changes are created by the test under a unique name; the shared default
tracks are only read.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from apranova_contract.labels import ENROLLMENT_PLURAL, GROUP, TRACK_PLURAL, VERSION
from tests.support.operator_process import (
    OperatorProcess,
    enrollment_body,
    operator_for_test_run,
    wait_for,
)

pytestmark = pytest.mark.cluster

RUN = secrets.token_hex(4)
RUN_LABELS = {"apranova.io/test-run": RUN}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def operator(
    crds_applied: str, k8s_api_client: client.ApiClient, test_output_dir: Path
) -> Iterator[OperatorProcess]:
    with operator_for_test_run(
        crds_applied,
        k8s_api_client,
        f"apranova.io/test-run={RUN}",
        {"RETRY_BASE_SECONDS": "1"},
        test_output_dir / f"operator-tracks-{RUN}.log",
    ) as process:
        yield process


def _get(objects: client.CustomObjectsApi, plural: str, name: str) -> dict[str, Any] | None:
    try:
        return objects.get_cluster_custom_object(GROUP, VERSION, plural, name)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def _status(objects: client.CustomObjectsApi, name: str) -> dict[str, Any]:
    return (_get(objects, ENROLLMENT_PLURAL, name) or {}).get("status") or {}


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c["type"] == type_), {})


def _wait_phase(objects: client.CustomObjectsApi, name: str, phase: str) -> dict[str, Any]:
    wait_for(lambda: _status(objects, name).get("phase") == phase, 180, f"{name} to be {phase}")
    return _status(objects, name)


def _own_track(name: str) -> dict[str, Any]:
    """The FSD track plus a JupyterLab tool, under a name of this run, without integrations."""
    track = yaml.safe_load((ROOT / "manifests" / "tracks" / "fsd.yaml").read_text())
    track["metadata"] = {"name": name}
    track["spec"]["integrations"] = {"discord": False, "github": False}
    track["spec"]["quota"].update(cpu="6", memory="8Gi", storage="20Gi")
    dp = yaml.safe_load((ROOT / "manifests" / "tracks" / "dp.yaml").read_text())
    track["spec"]["tools"].append(copy.deepcopy(dp["spec"]["tools"][0]))
    return track


@pytest.fixture
def enroll(objects: client.CustomObjectsApi, core: client.CoreV1Api) -> Iterator[Any]:
    created: list[str] = []

    def create(suffix: str, track: str) -> str:
        name = f"t{RUN}-{suffix}"
        objects.create_cluster_custom_object(
            GROUP, VERSION, ENROLLMENT_PLURAL, enrollment_body(name, track, RUN_LABELS)
        )
        created.append(name)
        return name

    yield create
    for name in created:
        try:
            objects.delete_cluster_custom_object(GROUP, VERSION, ENROLLMENT_PLURAL, name)
        except ApiException as error:
            if error.status != 404:
                raise
    for name in created:
        wait_for(
            lambda name=name: _get(objects, ENROLLMENT_PLURAL, name) is None,
            180,
            f"{name} to be deleted",
        )


@pytest.fixture
def track(objects: client.CustomObjectsApi) -> Iterator[Any]:
    created: list[str] = []

    def create(body: dict[str, Any]) -> None:
        objects.create_cluster_custom_object(GROUP, VERSION, TRACK_PLURAL, body)
        created.append(body["metadata"]["name"])

    yield create
    for name in created:
        objects.delete_cluster_custom_object(GROUP, VERSION, TRACK_PLURAL, name)


def test_fsd_ready_then_suspend_and_resume(
    operator: OperatorProcess,
    enroll: Any,
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
) -> None:
    name = enroll("fsd", "FSD")
    status = _wait_phase(objects, name, "Ready")
    namespace = f"student-{name}"
    assert status["tools"] == [
        {
            "name": "code",
            "kind": "codeserver",
            "url": f"https://code-{name}.students.localtest.me",
            "ready": True,
            "message": "",
        }
    ]
    password = core.read_namespaced_secret("code-credentials", namespace).data["password"]

    objects.patch_cluster_custom_object(
        GROUP,
        VERSION,
        ENROLLMENT_PLURAL,
        name,
        {"spec": {"suspended": True, "suspensionReason": "refund"}},
    )
    status = _wait_phase(objects, name, "Suspended")
    assert _condition(status, "Ready")["message"] == "refund"
    assert apps.read_namespaced_deployment("code", namespace).spec.replicas == 0
    core.read_namespaced_persistent_volume_claim("code-data", namespace)

    objects.patch_cluster_custom_object(
        GROUP, VERSION, ENROLLMENT_PLURAL, name, {"spec": {"suspended": False}}
    )
    _wait_phase(objects, name, "Ready")
    assert apps.read_namespaced_deployment("code", namespace).spec.replicas == 1
    assert core.read_namespaced_secret("code-credentials", namespace).data["password"] == password


def test_track_changes_roll_out_and_removed_tools_are_pruned(
    operator: OperatorProcess,
    track: Any,
    enroll: Any,
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
) -> None:
    track_name = f"t{RUN}"
    track(_own_track(track_name))
    names = [enroll("roll-a", track_name), enroll("roll-b", track_name)]
    for name in names:
        status = _wait_phase(objects, name, "Ready")
        assert [t["name"] for t in status["tools"]] == ["code", "jupyter"]

    body = _get(objects, TRACK_PLURAL, track_name)
    assert body is not None
    tools = body["spec"]["tools"]
    tools[0]["image"] = "codercom/code-server:4.97.2"
    objects.patch_cluster_custom_object(
        GROUP,
        VERSION,
        TRACK_PLURAL,
        track_name,
        {"spec": {"tools": [tools[0]], "quota": {**body["spec"]["quota"], "pods": "7"}}},
    )

    def rolled_out(name: str) -> bool:
        namespace = f"student-{name}"
        image = apps.read_namespaced_deployment("code", namespace).spec.template.spec
        leftovers = [
            *apps.list_namespaced_deployment(
                namespace, label_selector="apranova.io/tool=jupyter"
            ).items,
            *core.list_namespaced_service(
                namespace, label_selector="apranova.io/tool=jupyter"
            ).items,
            *core.list_namespaced_secret(
                namespace, label_selector="apranova.io/tool=jupyter"
            ).items,
            *core.list_namespaced_persistent_volume_claim(
                namespace, label_selector="apranova.io/tool=jupyter"
            ).items,
        ]
        quota = core.read_namespaced_resource_quota("student-quota", namespace)
        return (
            image.containers[0].image == "codercom/code-server:4.97.2"
            and not leftovers
            and quota.spec.hard["pods"] == "7"
        )

    for name in names:
        wait_for(lambda name=name: rolled_out(name), 90, f"track change to reach {name}")
        status = _wait_phase(objects, name, "Ready")
        assert [t["name"] for t in status["tools"]] == ["code"]


def test_unknown_track_waits_and_starts_when_the_track_appears(
    operator: OperatorProcess, track: Any, enroll: Any, objects: client.CustomObjectsApi
) -> None:
    track_name = f"later{RUN}"
    name = enroll("later", track_name)
    status = _wait_phase(objects, name, "Pending")
    ready = _condition(status, "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "TrackNotFound"
    assert track_name in ready["message"]
    track(_own_track(track_name))
    _wait_phase(objects, name, "Ready")


def test_missing_image_is_reported(
    operator: OperatorProcess, track: Any, enroll: Any, objects: client.CustomObjectsApi
) -> None:
    track_name = f"noimage{RUN}"
    body = _own_track(track_name)
    del body["spec"]["tools"][1]["image"]
    track(body)
    name = enroll("noimage", track_name)
    status = _wait_phase(objects, name, "Failed")
    tools_ready = _condition(status, "ToolsReady")
    assert tools_ready["reason"] == "ImageMissing"
    assert "jupyter" in tools_ready["message"]


def test_a_namespace_that_is_not_ours_is_never_taken_over(
    operator: OperatorProcess,
    enroll: Any,
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
) -> None:
    name = f"t{RUN}-taken"
    namespace = f"student-{name}"
    core.create_namespace({"metadata": {"name": namespace, "labels": {"owner": "someone"}}})
    try:
        enroll("taken", "FSD")
        status = _wait_phase(objects, name, "Failed")
        condition = _condition(status, "NamespaceReady")
        assert condition["reason"] == "NamespaceConflict"
        assert namespace in condition["message"]
        objects.delete_cluster_custom_object(GROUP, VERSION, ENROLLMENT_PLURAL, name)
        wait_for(lambda: _get(objects, ENROLLMENT_PLURAL, name) is None, 120, "deletion")
        found = core.read_namespace(namespace)
        assert found.metadata.labels.get("apranova.io/enrollment") is None
        assert found.metadata.labels["owner"] == "someone"
        assert found.metadata.deletion_timestamp is None
    finally:
        core.delete_namespace(namespace)
