"""Least privilege, proven: the operator and the API run with nothing but the chart's
ServiceAccounts and RBAC against the local control plane (RBAC enforced), and do their work; the
same identities are refused what they do not need.

The chart's ServiceAccounts and roles are rendered with a unique ``fullnameOverride`` into a
fresh namespace; each component gets a kubeconfig holding a token minted for its ServiceAccount
with the TokenRequest API (``kubectl create token``), never the admin certificate.
"""

from __future__ import annotations

import secrets
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from apranova_api.adapters.kube import KubeCluster
from tests.conftest import kubectl
from tests.e2e.test_install_render import CHART, helm, server_version
from tests.support.api_process import start_api
from tests.support.operator_process import GROUP, PLURAL, VERSION, get_enrollment, start_operator

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

SUFFIX = secrets.token_hex(3)
RELEASE = f"apranova-rbac-{SUFFIX}"
RUN_LABEL = ("apranova.io/test-run", f"rbac-{SUFFIX}")
TRACK = f"rbac-{SUFFIX}"
WAIT = 180.0


def wait_for(what: str, probe: Callable[[], Any], timeout: float = WAIT) -> Any:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


def token_kubeconfig(admin_kubeconfig: str, user: str, token: str) -> dict[str, Any]:
    """A kubeconfig for the admin's cluster (server and CA) that authenticates with ``token``."""
    admin = yaml.safe_load(Path(admin_kubeconfig).read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster_entry = next(c for c in admin["clusters"] if c["name"] == context["context"]["cluster"])
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": cluster_entry["cluster"]}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "local", "user": user}}],
        "current-context": user,
    }


@dataclass(frozen=True)
class Identities:
    """Kubeconfig paths of the operator's and the API's ServiceAccounts."""

    namespace: str
    operator: str
    api: str


@pytest.fixture(scope="module")
def identities(crds_applied: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Identities]:
    folder = tmp_path_factory.mktemp("rbac")
    namespace = RELEASE
    kubectl(crds_applied, "create", "namespace", namespace)
    rendered = helm(
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        namespace,
        "--kube-version",
        server_version(crds_applied),
        "--set",
        f"fullnameOverride={RELEASE}",
        "--show-only",
        "templates/serviceaccounts.yaml",
        "--show-only",
        "templates/rbac.yaml",
    ).stdout
    objects = folder / "rbac.yaml"
    objects.write_text(rendered)
    try:
        kubectl(crds_applied, "apply", "-f", str(objects))
        paths = {}
        for component in ("operator", "api"):
            token = kubectl(
                crds_applied,
                "create",
                "token",
                f"{RELEASE}-{component}",
                "--namespace",
                namespace,
                "--duration=1h",
            ).stdout.strip()
            path = folder / f"{component}.kubeconfig"
            path.write_text(yaml.safe_dump(token_kubeconfig(crds_applied, component, token)))
            path.chmod(0o600)
            paths[component] = str(path)
        yield Identities(namespace, paths["operator"], paths["api"])
    finally:
        kubectl(crds_applied, "delete", "--ignore-not-found", "-f", str(objects), check=False)
        kubectl(crds_applied, "delete", "namespace", namespace, "--wait=false", check=False)


def test_identities_are_service_accounts_not_the_admin(identities: Identities) -> None:
    for component, path in (("operator", identities.operator), ("api", identities.api)):
        user = kubectl(path, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
        assert user.stdout == f"system:serviceaccount:{identities.namespace}:{RELEASE}-{component}"


@pytest.fixture(scope="module")
def track(objects: client.CustomObjectsApi) -> Iterator[str]:
    """A track of this module only: one tool, no database, no integrations."""
    objects.create_cluster_custom_object(
        GROUP,
        VERSION,
        "tracks",
        {
            "apiVersion": "apranova.io/v1alpha1",
            "kind": "Track",
            "metadata": {"name": TRACK},
            "spec": {
                "displayName": "RBAC test track",
                "price": {"amount": 100, "currency": "usd"},
                "database": False,
                "integrations": {"discord": False, "github": False},
                "quota": {"cpu": "2", "memory": "2Gi", "storage": "2Gi", "pods": "5"},
                "tools": [{"name": "code", "kind": "codeserver", "image": "example/code:1"}],
            },
        },
    )
    yield TRACK
    objects.delete_cluster_custom_object(GROUP, VERSION, "tracks", TRACK)


def enrollment_body(username: str, track: str) -> dict[str, Any]:
    return {
        "apiVersion": "apranova.io/v1alpha1",
        "kind": "StudentEnrollment",
        "metadata": {"name": username, "labels": {RUN_LABEL[0]: RUN_LABEL[1]}},
        "spec": {
            "student": {
                "id": username,
                "email": f"{username}@example.com",
                "name": "RBAC Student",
                "username": username,
            },
            "track": track,
        },
    }


def ready_condition(enrollment: dict[str, Any] | None) -> dict[str, Any] | None:
    for item in ((enrollment or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == "Ready" and item.get("status") == "True":
            return item
    return None


def test_operator_provisions_an_enrollment_with_only_its_service_account(
    identities: Identities,
    objects: client.CustomObjectsApi,
    track: str,
    test_output_dir: Path,
) -> None:
    username = f"rbac{SUFFIX}"
    operator = start_operator(
        identities.operator,
        {"ENROLLMENT_SELECTOR": f"{RUN_LABEL[0]}={RUN_LABEL[1]}"},
        test_output_dir / f"operator-rbac-{SUFFIX}.log",
    )
    try:
        objects.create_cluster_custom_object(
            GROUP, VERSION, PLURAL, enrollment_body(username, track)
        )
        wait_for(
            f"{username} to be Ready", lambda: ready_condition(get_enrollment(objects, username))
        )
        status = get_enrollment(objects, username)["status"]
        assert status["phase"] == "Ready"
        assert [tool["name"] for tool in status["tools"]] == ["code"]

        objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, username)
        wait_for(f"{username} to be deleted", lambda: get_enrollment(objects, username) is None)
        log = (test_output_dir / f"operator-rbac-{SUFFIX}.log").read_text()
        assert "Forbidden" not in log and " 403" not in log
    finally:
        operator.stop()
        if get_enrollment(objects, username) is not None:
            objects.patch_cluster_custom_object(
                GROUP,
                VERSION,
                PLURAL,
                username,
                {"metadata": {"finalizers": None}},
            )
            objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, username)


def test_api_reads_tracks_and_manages_enrollments_with_only_its_service_account(
    identities: Identities,
    objects: client.CustomObjectsApi,
    track: str,
    test_output_dir: Path,
    tmp_path: Path,
) -> None:
    api = start_api(
        {
            "KUBECONFIG": identities.api,
            "APRANOVA_ENV": "test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
            "ENROLLMENT_LABELS": f"{RUN_LABEL[0]}={RUN_LABEL[1]}",
        },
        test_output_dir / f"api-rbac-{SUFFIX}.log",
    )
    try:

        def cache_synced() -> bool:
            with urllib.request.urlopen(f"{api.url}/metrics", timeout=5) as response:
                return "apranova_status_cache_synced 1.0" in response.read().decode()

        wait_for("the API's status cache to list and watch enrollments", cache_synced)
    finally:
        api.stop()

    kube = KubeCluster(identities.api)
    assert kube.get_track(track)["spec"]["displayName"] == "RBAC test track"
    assert track in {item["metadata"]["name"] for item in kube.list_tracks()}
    username = f"rbacapi{SUFFIX}"
    try:
        assert kube.create_enrollment(enrollment_body(username, track)) is True
        kube.patch_enrollment_spec(username, {"suspended": True})
        assert kube.get_enrollment(username)["spec"]["suspended"] is True
        assert username in kube.list_enrollment_names()
        assert kube.list_enrollment_suspensions()[username] is True
        assert kube.get_namespace_labels("kube-system") is not None
        assert kube.get_namespace_labels(f"student-absent{SUFFIX}") is None
        assert kube.delete_enrollment(username) is True
    finally:
        if get_enrollment(objects, username) is not None:
            objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, username)


def can_i(kubeconfig: str, verb: str, resource: str, namespace: str = "") -> bool:
    """``kubectl auth can-i`` (a SelfSubjectAccessReview); ``kind/sub`` names a subresource."""
    kind, _, subresource = resource.partition("/")
    scope = ["--namespace", namespace] if namespace else ["--all-namespaces"]
    if subresource:
        scope.append(f"--subresource={subresource}")
    result = kubectl(kubeconfig, "auth", "can-i", verb, kind, *scope, check=False)
    return result.stdout.strip() == "yes"


def test_can_i_sees_what_each_identity_is_granted(identities: Identities) -> None:
    assert can_i(identities.operator, "patch", "studentenrollments.apranova.io/status")
    assert can_i(identities.operator, "create", "events", "default")
    assert can_i(identities.api, "watch", "studentenrollments.apranova.io")


@pytest.mark.parametrize(
    ("verb", "resource", "namespace"),
    [
        ("get", "nodes", ""),
        ("list", "pods", ""),
        ("create", "pods/exec", "kube-system"),
        ("create", "clusterrolebindings", ""),
        ("bind", "clusterroles", ""),
        ("escalate", "roles", "default"),
        ("impersonate", "serviceaccounts", "kube-system"),
        ("delete", "customresourcedefinitions", ""),
        ("update", "studentenrollments.apranova.io", ""),
        ("create", "studentenrollments.apranova.io", ""),
        ("patch", "tracks.apranova.io", ""),
        ("delete", "serviceaccounts", "kube-system"),
        ("delete", "networkpolicies", "kube-system"),
        ("create", "events", "kube-system"),
    ],
)
def test_operator_is_refused_what_it_does_not_need(
    identities: Identities, verb: str, resource: str, namespace: str
) -> None:
    assert not can_i(identities.operator, verb, resource, namespace)


def test_operator_requests_outside_its_rules_get_403(identities: Identities) -> None:
    nodes = kubectl(identities.operator, "get", "nodes", check=False)
    assert nodes.returncode != 0 and "Forbidden" in nodes.stderr
    crd = kubectl(
        identities.operator,
        "delete",
        "customresourcedefinition",
        "tracks.apranova.io",
        "--dry-run=server",
        check=False,
    )
    assert crd.returncode != 0 and "Forbidden" in crd.stderr


@pytest.mark.parametrize(
    ("verb", "resource", "namespace"),
    [
        ("list", "secrets", ""),
        ("get", "secrets", "kube-system"),
        ("create", "namespaces", ""),
        ("patch", "studentenrollments.apranova.io/status", ""),
        ("create", "tracks.apranova.io", ""),
        ("delete", "tracks.apranova.io", ""),
        ("create", "deployments.apps", "default"),
    ],
)
def test_api_is_refused_what_it_does_not_need(
    identities: Identities, verb: str, resource: str, namespace: str
) -> None:
    assert not can_i(identities.api, verb, resource, namespace)


def test_api_secrets_request_gets_403(identities: Identities) -> None:
    result = kubectl(identities.api, "get", "secrets", "--namespace", "kube-system", check=False)
    assert result.returncode != 0 and "Forbidden" in result.stderr
