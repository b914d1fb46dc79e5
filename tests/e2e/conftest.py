"""Fixtures of the end-to-end tests that share the local control plane with other test runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.conftest import PROJECT_ROOT, _apply_as_tests
from tests.support.operator_process import GROUP, PLURAL

CRD_FILE = PROJECT_ROOT / "crds" / "studentenrollments.yaml"


def _our_naming_rule() -> list[dict[str, str]]:
    crd = yaml.safe_load(CRD_FILE.read_text())
    rules: list[dict[str, str]] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"][
        "x-kubernetes-validations"
    ]
    return rules


@pytest.fixture(scope="session")
def enrollment_naming_rule(crds_applied: str, k8s_api_client: client.ApiClient) -> Iterator[None]:
    """Keep this branch's naming rule on the shared cluster's StudentEnrollment CRD while the
    tests that use it run (``pytest.mark.usefixtures("enrollment_naming_rule")``).

    Test runs of other branches re-apply their CRD, whose rule refuses ``<username>-<track>``
    names (status writes of these enrollments then fail). Only the rule is patched back (a
    superset of the old one), so their other schema changes stay.
    """
    _apply_as_tests(crds_applied, [CRD_FILE])
    extensions = client.ApiextensionsV1Api(k8s_api_client)
    name = f"{PLURAL}.{GROUP}"
    rules = _our_naming_rule()
    patch = [
        {
            "op": "replace",
            "path": "/spec/versions/0/schema/openAPIV3Schema/x-kubernetes-validations",
            "value": rules,
        }
    ]
    stop = threading.Event()

    def keep() -> None:
        while not stop.wait(1):
            try:
                crd = extensions.read_custom_resource_definition(name)
                live = crd.spec.versions[0].schema.open_apiv3_schema.x_kubernetes_validations
                if "startsWith" not in str(live):
                    extensions.patch_custom_resource_definition(name, patch)
            except ApiException:
                continue

    thread = threading.Thread(target=keep, name="crd-naming-rule", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)
