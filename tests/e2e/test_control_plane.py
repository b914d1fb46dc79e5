"""The local control plane is a real Kubernetes: controllers, garbage collection, RBAC, watches."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from apranova.local import cluster
from tests.conftest import kubectl

pytestmark = pytest.mark.cluster


def wait_for(what: str, check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def namespace(k8s_api_client) -> Iterator[str]:
    name = f"cp-test-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(k8s_api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    wait_for(
        "the default service account",
        lambda: any(
            sa.metadata.name == "default" for sa in core.list_namespaced_service_account(name).items
        ),
    )
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as err:
        if err.status != 404:
            raise


def _deployment(name: str) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }


def test_deployment_becomes_available(k8s_api_client, namespace: str) -> None:
    apps = client.AppsV1Api(k8s_api_client)
    apps.create_namespaced_deployment(namespace, _deployment("web"))

    def available() -> bool:
        dep = apps.read_namespaced_deployment("web", namespace)
        return (
            any(c.type == "Available" and c.status == "True" for c in dep.status.conditions or [])
            and dep.status.ready_replicas == 2
        )

    wait_for("the Deployment to be Available with 2 ready replicas", available)
    pods = client.CoreV1Api(k8s_api_client).list_namespaced_pod(namespace).items
    assert len(pods) == 2
    assert all(p.spec.node_name == cluster.NODE_NAME and p.status.phase == "Running" for p in pods)


def test_deleting_a_namespace_with_objects_completes(k8s_api_client) -> None:
    core = client.CoreV1Api(k8s_api_client)
    apps = client.AppsV1Api(k8s_api_client)
    name = f"cp-del-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    core.create_namespaced_config_map(
        name, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings"), data={"a": "b"})
    )
    wait_for(
        "the default service account",
        lambda: bool(core.list_namespaced_service_account(name).items),
    )
    apps.create_namespaced_deployment(name, _deployment("web"))
    wait_for(
        "pods to run",
        lambda: (
            len([p for p in core.list_namespaced_pod(name).items if p.status.phase == "Running"])
            == 2
        ),
    )
    core.delete_namespace(name)

    def gone() -> bool:
        try:
            core.read_namespace(name)
        except ApiException as err:
            return err.status == 404
        return False

    wait_for("the namespace to finish deleting", gone, timeout=180)


def test_owner_reference_cascade_deletes_children(k8s_api_client, namespace: str) -> None:
    core = client.CoreV1Api(k8s_api_client)
    parent = core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="parent"))
    )
    owner = client.V1OwnerReference(
        api_version="v1", kind="ConfigMap", name="parent", uid=parent.metadata.uid
    )
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="child", owner_references=[owner]),
            string_data={"k": "v"},
        ),
    )
    core.delete_namespaced_config_map(
        "parent", namespace, body=client.V1DeleteOptions(propagation_policy="Background")
    )

    def child_gone() -> bool:
        try:
            core.read_namespaced_secret("child", namespace)
        except ApiException as err:
            return err.status == 404
        return False

    wait_for("the garbage collector to delete the child", child_gone)


def test_service_account_without_permissions_is_forbidden(
    kubeconfig: str, k8s_api_client, namespace: str, tmp_path
) -> None:
    core = client.CoreV1Api(k8s_api_client)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="nobody"))
    )
    token = kubectl(
        kubeconfig, "create", "token", "nobody", "-n", namespace, "--duration=10m"
    ).stdout.strip()
    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    restricted = client.Configuration()
    restricted.host = cfg.host
    restricted.ssl_ca_cert = cfg.ssl_ca_cert
    restricted.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(restricted) as api:
        with pytest.raises(ApiException) as err:
            client.CoreV1Api(api).list_namespaced_secret(namespace)
        assert err.value.status == 403
        body = json.loads(err.value.body)
        assert f"system:serviceaccount:{namespace}:nobody" in body["message"]
        # The same identity is authenticated: self-review works and names it.
        review = client.AuthenticationV1Api(api).create_self_subject_review(
            client.V1SelfSubjectReview()
        )
        assert review.status.user_info.username == f"system:serviceaccount:{namespace}:nobody"


def test_watch_with_bookmarks(k8s_api_client, namespace: str) -> None:
    core = client.CoreV1Api(k8s_api_client)
    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="seen"))
    )
    stream = watch.Watch()
    types: list[str] = []
    bookmark_annotations: dict = {}
    for event in stream.stream(
        core.list_namespaced_config_map,
        namespace,
        allow_watch_bookmarks=True,
        send_initial_events=True,
        resource_version_match="NotOlderThan",
        resource_version="",
        timeout_seconds=30,
        _request_timeout=40,
    ):
        types.append(event["type"])
        if event["type"] == "BOOKMARK":
            raw = event["raw_object"]
            bookmark_annotations = raw["metadata"].get("annotations", {})
            stream.stop()
    assert "ADDED" in types
    assert types[-1] == "BOOKMARK"
    assert bookmark_annotations.get("k8s.io/initial-events-end") == "true"
