"""The kustomize base: complete, least-privilege, and in step with the Helm chart."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from apranova.cli import build_parser
from apranova_api.main import parse_args as parse_api_args
from tests.unit.install.install_files import (
    MANIFESTS,
    chart_rules,
    find_object,
    kustomize_objects,
    settings_variables,
)

OBJECTS = kustomize_objects()
SETTINGS = {
    "operator": settings_variables("apranova_operator"),
    "api": settings_variables("apranova_api"),
}
FORBIDDEN_VERBS = {"*", "escalate", "bind", "impersonate"}


def test_every_manifest_file_is_listed_in_the_kustomization() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    files = {
        str(path.relative_to(MANIFESTS))
        for path in MANIFESTS.rglob("*.yaml")
        if path.name != "kustomization.yaml"
    }
    assert files == set(kustomization["resources"])


ROLES = [
    ("ClusterRole", "apranova-operator", "operatorRules"),
    ("Role", "apranova-operator-events", "operatorEventRules"),
    ("ClusterRole", "apranova-api", "apiRules"),
]


@pytest.mark.parametrize(("kind", "name", "define"), ROLES)
def test_role_rules_match_the_chart(kind: str, name: str, define: str) -> None:
    assert find_object(OBJECTS, kind, name)["rules"] == chart_rules(define)


@pytest.mark.parametrize("define", [define for _, _, define in ROLES])
def test_rules_never_use_wildcards_or_privilege_escalation(define: str) -> None:
    for rule in chart_rules(define):
        assert FORBIDDEN_VERBS.isdisjoint(rule["verbs"]), rule
        assert "*" not in rule["resources"] and "*" not in rule["apiGroups"], rule
        assert "rbac.authorization.k8s.io" not in rule["apiGroups"], rule
        assert not {"nodes", "pods", "pods/exec"} & set(rule["resources"]), rule


@pytest.mark.parametrize(("kind", "name", "define"), ROLES)
def test_binding_grants_the_role_to_the_component_service_account(
    kind: str, name: str, define: str
) -> None:
    binding = find_object(OBJECTS, f"{kind}Binding", name)
    component = name.split("-")[1]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": kind,
        "name": name,
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": f"apranova-{component}", "namespace": "apranova-system"}
    ]
    assert find_object(OBJECTS, "ServiceAccount", f"apranova-{component}")


def test_operator_may_post_events_only_in_the_namespace_events_go_to() -> None:
    from apranova_operator.events import EVENT_NAMESPACE

    role = find_object(OBJECTS, "Role", "apranova-operator-events")
    assert role["metadata"]["namespace"] == EVENT_NAMESPACE
    cluster_rules = chart_rules("operatorRules")
    assert not any("events" in rule["resources"] for rule in cluster_rules)


def test_operator_runs_once_and_is_replaced_not_rolled() -> None:
    spec = find_object(OBJECTS, "Deployment", "apranova-operator")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def _container(component: str) -> dict[str, Any]:
    pod = find_object(OBJECTS, "Deployment", f"apranova-{component}")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == f"apranova-{component}"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    return container


@pytest.mark.parametrize("component", ["operator", "api"])
def test_container_is_locked_down(component: str) -> None:
    security = _container(component)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]


def _command_line(argv: list[str]) -> tuple[str, list[str]]:
    """The ``apranova`` sub-command and the arguments it passes on (as ``apranova.cli.main``)."""
    args, unknown = build_parser().parse_known_args(argv)
    return args.command, [*unknown, *args.rest]


@pytest.mark.parametrize("component", ["operator", "api"])
def test_container_arguments_are_a_command_of_the_cli(component: str) -> None:
    command, _ = _command_line(_container(component)["args"])
    assert command == component


def test_api_listens_on_all_addresses_at_its_container_port() -> None:
    container = _container("api")
    options = parse_api_args(_command_line(container["args"])[1])
    assert options.host == "0.0.0.0"
    assert [port["containerPort"] for port in container["ports"]] == [options.port]


@pytest.mark.parametrize("component", ["operator", "api"])
def test_every_variable_set_is_a_setting_of_the_component(component: str) -> None:
    container = _container(component)
    config_map = find_object(OBJECTS, "ConfigMap", f"apranova-{component}")
    names = set(config_map["data"]) | {item["name"] for item in container.get("env", [])}
    assert names <= SETTINGS[component], names - SETTINGS[component]
