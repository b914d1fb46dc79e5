"""The operator against the local control plane: a DP enrollment from creation to deletion.

One operator process serves this module, restricted by ``ENROLLMENT_SELECTOR`` to enrollments
labelled with this run's id, so other test runs sharing the cluster are never touched.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from apranova.local import cluster
from tests.support.operator_process import (
    GROUP,
    PLURAL,
    VERSION,
    OperatorProcess,
    delete_enrollment,
    enrollment_body,
    get_enrollment,
    operator_for_test_run,
    wait_for,
)

pytestmark = [pytest.mark.cluster, pytest.mark.postgres]

RUN = secrets.token_hex(4)
RUN_LABELS = {"apranova.io/test-run": RUN}
USERNAME = f"t{RUN}-dp"
NAMESPACE = f"student-{USERNAME}"
TOOLS = ("jupyter", "superset", "prefect")


@pytest.fixture(scope="module")
def operator(
    crds_applied: str,
    k8s_api_client: client.ApiClient,
    postgres_server: Any,
    test_output_dir: Path,
) -> Iterator[OperatorProcess]:
    with operator_for_test_run(
        crds_applied,
        k8s_api_client,
        f"apranova.io/test-run={RUN}",
        {"STUDENT_DB_ADMIN_URL": postgres_server.admin_url, "RETRY_BASE_SECONDS": "1"},
        test_output_dir / f"operator-{RUN}.log",
    ) as process:
        yield process


def _phase(objects: client.CustomObjectsApi, name: str) -> str | None:
    return ((get_enrollment(objects, name) or {}).get("status") or {}).get("phase")


def _wait_phase(objects: client.CustomObjectsApi, name: str, phase: str) -> dict[str, Any]:
    wait_for(lambda: _phase(objects, name) == phase, 180, f"{name} to be {phase}")
    body = get_enrollment(objects, name)
    assert body is not None
    return body


def _kubectl(kubeconfig: str, *args: str) -> str:
    result = subprocess.run(
        [str(cluster.binary("kubectl")), f"--kubeconfig={kubeconfig}", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def ready_enrollment(
    operator: OperatorProcess, objects: client.CustomObjectsApi, core: client.CoreV1Api
) -> Iterator[dict[str, Any]]:
    objects.create_cluster_custom_object(
        GROUP, VERSION, PLURAL, enrollment_body(USERNAME, "DP", RUN_LABELS)
    )
    yield _wait_phase(objects, USERNAME, "Ready")
    delete_enrollment(objects, USERNAME)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"email": "not-an-email"}, "spec.student.email"),
        ({"username": "Bad_Name"}, "spec.student.username"),
        ({"username": "x" * 41}, "spec.student.username"),
    ],
)
def test_invalid_enrollment_is_rejected_by_the_api_server(
    crds_applied: str, objects: client.CustomObjectsApi, change: dict[str, str], expected: str
) -> None:
    body = enrollment_body(f"t{RUN}-bad", "DP", RUN_LABELS)
    body["spec"]["student"].update(change)
    with pytest.raises(ApiException) as raised:
        objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)
    assert raised.value.status == 422
    assert expected in raised.value.body


def test_name_must_start_with_username_and_student_is_immutable(
    crds_applied: str, objects: client.CustomObjectsApi
) -> None:
    body = enrollment_body(f"t{RUN}-imm", "NoSuchTrack", {"apranova.io/test-run": "nobody"})
    body["metadata"]["name"] = f"t{RUN}-other"
    with pytest.raises(ApiException) as raised:
        objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)
    assert "metadata.name must be spec.student.username or start with" in raised.value.body
    body["metadata"]["name"] = f"t{RUN}-imm"
    objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)
    try:
        with pytest.raises(ApiException) as raised:
            objects.patch_cluster_custom_object(
                GROUP, VERSION, PLURAL, f"t{RUN}-imm", {"spec": {"student": {"name": "Eve"}}}
            )
        assert "spec.student cannot change after creation" in raised.value.body
    finally:
        objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, f"t{RUN}-imm")


def test_kubectl_explain_describes_fields(crds_applied: str) -> None:
    assert "DNS-1123 label" in _kubectl(crds_applied, "explain", "se.spec.student.username")
    assert "smallest unit" in _kubectl(crds_applied, "explain", "tracks.spec.price.amount")


def test_kubectl_get_se_shows_the_columns(
    ready_enrollment: dict[str, Any], crds_applied: str
) -> None:
    header, row = _kubectl(crds_applied, "get", "se", USERNAME).splitlines()[:2]
    assert header.split() == ["NAME", "EMAIL", "TRACK", "PHASE", "NAMESPACE", "AGE"]
    assert row.split()[:5] == [USERNAME, f"{USERNAME}@example.com", "DP", "Ready", NAMESPACE]


def test_dp_enrollment_is_ready_with_every_object(
    ready_enrollment: dict[str, Any],
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    networking: client.NetworkingV1Api,
) -> None:
    status = ready_enrollment["status"]
    assert status["namespace"] == NAMESPACE
    assert status["provisioningStartedAt"] and status["readyAt"]
    assert status["observedGeneration"] == ready_enrollment["metadata"]["generation"]
    types = [c["type"] for c in status["conditions"]]
    assert len(types) == len(set(types)), "each condition exactly once"
    assert {"Ready", "NamespaceReady", "ToolsReady", "DatabaseReady"} <= set(types)
    assert all(c["status"] == "True" for c in status["conditions"])
    assert [(t["name"], t["url"], t["ready"]) for t in status["tools"]] == [
        (tool, f"https://{tool}-{USERNAME}.students.localtest.me", True) for tool in TOOLS
    ]
    assert status["database"]["ready"] is True

    namespace = core.read_namespace(NAMESPACE)
    assert namespace.metadata.labels["apranova.io/enrollment"] == USERNAME
    assert namespace.metadata.labels["apranova.io/track"] == "DP"
    assert namespace.metadata.owner_references[0].name == USERNAME
    quota = core.read_namespaced_resource_quota("student-quota", NAMESPACE)
    assert quota.spec.hard["limits.memory"] == "8Gi"
    core.read_namespaced_limit_range("student-limits", NAMESPACE)
    account = core.read_namespaced_service_account("student", NAMESPACE)
    assert account.automount_service_account_token is False
    policies = {p.metadata.name for p in networking.list_namespaced_network_policy(NAMESPACE).items}
    assert policies == {"default-deny", "allow-ingress", "allow-egress", "allow-database"}
    for tool in TOOLS:
        deployment = apps.read_namespaced_deployment(tool, NAMESPACE)
        assert deployment.metadata.labels["app.kubernetes.io/managed-by"] == "apranova-operator"
        assert deployment.spec.template.spec.security_context.run_as_non_root is True
        core.read_namespaced_service(tool, NAMESPACE)
        core.read_namespaced_persistent_volume_claim(f"{tool}-data", NAMESPACE)
        core.read_namespaced_secret(f"{tool}-credentials", NAMESPACE)
        ingress = networking.read_namespaced_ingress(tool, NAMESPACE)
        assert ingress.spec.rules[0].host == f"{tool}-{USERNAME}.students.localtest.me"
    assert "DATABASE_URL" in {
        e.name
        for e in apps.read_namespaced_deployment("jupyter", NAMESPACE)
        .spec.template.spec.containers[0]
        .env
    }


def test_describe_tells_the_story(ready_enrollment: dict[str, Any], crds_applied: str) -> None:
    described = _kubectl(crds_applied, "describe", "se", USERNAME)
    for reason in ("NamespaceCreated", "Created", "ReadyTrue"):
        assert reason in described, described


def test_drift_is_repaired(
    ready_enrollment: dict[str, Any],
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
) -> None:
    token = core.read_namespaced_secret("jupyter-credentials", NAMESPACE).data["token"]
    core.delete_namespaced_service("superset", NAMESPACE)
    apps.patch_namespaced_deployment(
        "prefect",
        NAMESPACE,
        {"spec": {"template": {"spec": {"containers": [{"name": "prefect", "image": "evil:1"}]}}}},
    )
    core.patch_namespaced_resource_quota(
        "student-quota", NAMESPACE, {"spec": {"hard": {"pods": "1"}}}
    )

    def repaired() -> bool:
        try:
            core.read_namespaced_service("superset", NAMESPACE)
        except ApiException:
            return False
        image = apps.read_namespaced_deployment("prefect", NAMESPACE).spec.template.spec
        quota = core.read_namespaced_resource_quota("student-quota", NAMESPACE)
        return (
            image.containers[0].image.startswith("prefecthq/") and quota.spec.hard["pods"] == "20"
        )

    wait_for(repaired, 60, "drift repair")
    assert core.read_namespaced_secret("jupyter-credentials", NAMESPACE).data["token"] == token
    _wait_phase(objects, USERNAME, "Ready")


def test_kill_and_restart_converges_without_duplicates(
    ready_enrollment: dict[str, Any],
    operator: OperatorProcess,
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
) -> None:
    secret_before = core.read_namespaced_secret("superset-credentials", NAMESPACE).data
    operator.kill()
    apps.delete_namespaced_deployment("jupyter", NAMESPACE)
    operator.start()
    wait_for(
        lambda: any(
            d.metadata.name == "jupyter" for d in apps.list_namespaced_deployment(NAMESPACE).items
        ),
        60,
        "the deleted Deployment to come back",
    )
    body = _wait_phase(objects, USERNAME, "Ready")
    assert sorted(d.metadata.name for d in apps.list_namespaced_deployment(NAMESPACE).items) == (
        sorted(TOOLS)
    )
    assert core.read_namespaced_secret("superset-credentials", NAMESPACE).data == secret_before
    types = [c["type"] for c in body["status"]["conditions"]]
    assert len(types) == len(set(types))


def test_metrics_are_exposed(ready_enrollment: dict[str, Any], operator: OperatorProcess) -> None:
    text = operator.metrics()
    for name in (
        "apranova_operator_reconcile_duration_seconds_bucket",
        'apranova_operator_enrollments{phase="Ready"}',
        "apranova_operator_time_to_ready_seconds",
        "apranova_operator_reconcile_errors_total",
    ):
        assert name in text


def test_delete_leaves_nothing_behind(
    ready_enrollment: dict[str, Any],
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    postgres_server: Any,
) -> None:
    objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, USERNAME)
    wait_for(lambda: get_enrollment(objects, USERNAME) is None, 180, "the enrollment to go")

    def namespace_gone() -> bool:
        try:
            core.read_namespace(NAMESPACE)
        except ApiException as error:
            return error.status == 404
        return False

    assert namespace_gone(), "the finalizer waits for the namespace"

    def deleted_event_posted() -> bool:
        # Events are posted in the background: the last one may land after the enrollment left.
        events = core.list_namespaced_event(
            "default", field_selector=f"involvedObject.name={USERNAME}"
        ).items
        return any(e.reason == "Deleted" for e in events)

    wait_for(deleted_event_posted, 30, "the Deleted event")
