"""The install bundles against real tools: ``helm lint``, ``helm template`` and ``kubectl
kustomize`` output applied with ``kubectl apply --dry-run=server`` to the local control plane
(whose admission, schema and RBAC validation are the real ones), and the chart's schema and
guards rejecting bad values through Helm itself."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from apranova.local import cluster
from tests.conftest import kubectl

pytestmark = pytest.mark.cluster

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHART = PROJECT_ROOT / "helm" / "apranova"
CI_VALUES = PROJECT_ROOT / "helm" / "ci-values.yaml"
MANIFESTS = PROJECT_ROOT / "manifests"
KUSTOMIZE_NAMESPACE = "apranova-system"


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the cached ``helm`` binary with its caches in a throw-away folder."""
    home = Path(os.environ.get("TMPDIR", "/tmp")) / "apranova-helm-home"
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    result = subprocess.run(
        [str(cluster.binary("helm")), *args], capture_output=True, text=True, env=env
    )
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}")
    return result


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def by_kind_and_name(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}


def server_version(kubeconfig: str) -> str:
    """The API server's version: what ``helm install`` would see (``helm template`` and ``helm
    lint`` otherwise assume the version compiled into the binary)."""
    result = kubectl(kubeconfig, "version", "--output=json")
    return json.loads(result.stdout)["serverVersion"]["gitVersion"]


@pytest.fixture(scope="module")
def kube_version(kubeconfig: str) -> str:
    return server_version(kubeconfig)


@pytest.fixture(scope="module")
def namespace(crds_applied: str) -> Iterator[str]:
    """A fresh namespace for the release (dry-run objects still need their namespace)."""
    name = f"apranova-install-{secrets.token_hex(3)}"
    kubectl(crds_applied, "create", "namespace", name)
    yield name
    kubectl(crds_applied, "delete", "namespace", name, "--wait=false", check=False)


@pytest.mark.parametrize("values", [[], ["-f", str(CI_VALUES)]], ids=["defaults", "ci-values"])
def test_helm_lint_passes_strictly(kube_version: str, values: list[str]) -> None:
    result = helm("lint", "--strict", "--kube-version", kube_version, str(CHART), *values)
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("values", [[], ["-f", str(CI_VALUES)]], ids=["defaults", "ci-values"])
def test_helm_template_is_accepted_by_the_api_server(
    crds_applied: str, kube_version: str, namespace: str, values: list[str]
) -> None:
    release = f"r{secrets.token_hex(3)}"
    rendered = helm(
        "template",
        release,
        str(CHART),
        "--namespace",
        namespace,
        "--include-crds",
        "--kube-version",
        kube_version,
        *values,
    ).stdout
    objects = by_kind_and_name(documents(rendered))
    prefix = f"{release}-apranova"
    operator = objects[("Deployment", f"{prefix}-operator")]["spec"]
    assert operator["replicas"] == 1
    assert operator["strategy"] == {"type": "Recreate"}
    assert ("PodDisruptionBudget", f"{prefix}-api") in objects
    assert ("Track", "dp") in objects and ("Track", "fsd") in objects
    if values:
        assert ("Ingress", f"{prefix}-api") in objects
        assert objects[("Secret", f"{prefix}-operator")]["type"] == "Opaque"
        api_pod = objects[("Deployment", f"{prefix}-api")]["spec"]["template"]["spec"]
        assert {"secretRef": {"name": "apranova-api-credentials"}} in (
            api_pod["containers"][0]["envFrom"]
        )

    result = kubectl(crds_applied, "apply", "--dry-run=server", "-f", "-", stdin=rendered)
    assert f"deployment.apps/{prefix}-operator created (server dry run)" in result.stdout


def test_kustomize_base_is_accepted_by_the_api_server(crds_applied: str) -> None:
    rendered = kubectl(crds_applied, "kustomize", str(MANIFESTS)).stdout
    # The base's own namespace must exist for a dry run of the objects inside it; a namespace
    # left terminating by an earlier run is waited out first.
    namespace = f"namespace/{KUSTOMIZE_NAMESPACE}"
    kubectl(crds_applied, "wait", "--for=delete", namespace, "--timeout=120s", check=False)
    created = kubectl(crds_applied, "create", "namespace", KUSTOMIZE_NAMESPACE, check=False)
    try:
        result = kubectl(crds_applied, "apply", "--dry-run=server", "-f", "-", stdin=rendered)
    finally:
        if created.returncode == 0:
            kubectl(crds_applied, "delete", "namespace", KUSTOMIZE_NAMESPACE, "--timeout=120s")
    assert "deployment.apps/apranova-operator created (server dry run)" in result.stdout
    assert "clusterrole.rbac.authorization.k8s.io/apranova-operator created" in result.stdout


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without what legitimately differs between the chart and the kustomize base:
    labels and annotations (Helm's own), and the optional flag of the Secret reference."""
    obj = yaml.safe_load(yaml.safe_dump(obj))
    obj["metadata"].pop("labels", None)
    obj["metadata"].pop("annotations", None)
    template = obj.get("spec", {}).get("template")
    if obj["kind"] == "Deployment" and template:
        template["metadata"].pop("annotations", None)
        for container in template["spec"]["containers"]:
            for source in container.get("envFrom", []):
                source.get("secretRef", {}).pop("optional", None)
    return obj


def test_kustomize_base_holds_the_same_objects_as_the_chart(
    crds_applied: str, kube_version: str
) -> None:
    kustomized = documents(kubectl(crds_applied, "kustomize", str(MANIFESTS)).stdout)
    charted = by_kind_and_name(
        documents(
            helm(
                "template",
                "apranova",
                str(CHART),
                "--namespace",
                KUSTOMIZE_NAMESPACE,
                "--include-crds",
                "--kube-version",
                kube_version,
                "--set",
                "api.existingSecret=apranova-api,operator.existingSecret=apranova-operator",
            ).stdout
        )
    )
    kustomized_objects = by_kind_and_name([obj for obj in kustomized if obj["kind"] != "Namespace"])
    assert sorted(kustomized_objects) == sorted(charted)
    for key, obj in kustomized_objects.items():
        assert _comparable(obj) == _comparable(charted[key]), key


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (["--set", "operator.replicas=2"], "/operator/replicas"),
        (["--set", "image.pullPolicy=Sometimes"], "/image/pullPolicy"),
        (["--set", "api.ingress.enabled=true"], "/api/ingress/host"),
        (["--set", "operater.replicas=1"], "operater"),
        (
            ["--set", "api.env.STRIPE_SECRET_KEY=sk_test_x"],
            "api.env.STRIPE_SECRET_KEY holds a credential: put it in api.secretEnv",
        ),
        (
            ["--set", "operator.env.OPERATOR_HEALTH_PORT=1"],
            "operator.env.OPERATOR_HEALTH_PORT is set by the chart: use operator.healthPort",
        ),
    ],
)
def test_helm_rejects_bad_values_with_a_clear_message(
    kube_version: str, settings: list[str], message: str
) -> None:
    result = helm(
        "template", "apranova", str(CHART), "--kube-version", kube_version, *settings, check=False
    )
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_helm_install_rolls_out_and_uninstalls_cleanly(
    crds_applied: str, kube_version: str, namespace: str
) -> None:
    """A real ``helm install --wait``: kwok stands in for kubelets, so both Deployments become
    Available. CRDs and tracks already exist in the shared cluster, hence ``--skip-crds`` and
    ``tracks.install=false``; the unique ``fullnameOverride`` keeps cluster-scoped names apart."""
    release = f"apranova-install-{secrets.token_hex(3)}"
    env = ["--kubeconfig", crds_applied, "--namespace", namespace]
    helm(
        "install",
        release,
        str(CHART),
        *env,
        "--skip-crds",
        "--set",
        f"fullnameOverride={release},tracks.install=false",
        "--wait",
        "--timeout",
        "3m",
    )
    try:
        for component in ("operator", "api"):
            deployment = json.loads(
                kubectl(
                    crds_applied,
                    "get",
                    "deployment",
                    f"{release}-{component}",
                    "--namespace",
                    namespace,
                    "--output=json",
                ).stdout
            )
            assert deployment["status"]["availableReplicas"] == deployment["spec"]["replicas"]
    finally:
        helm("uninstall", release, *env, "--wait")
    leftover = kubectl(crds_applied, "get", "clusterrole", f"{release}-operator", check=False)
    assert leftover.returncode != 0 and "NotFound" in leftover.stderr
