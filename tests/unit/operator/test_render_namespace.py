from __future__ import annotations

import pytest

from apranova_contract import labels
from apranova_operator.render import namespace, network, quota, tools
from apranova_operator.render.context import InvalidInput, RenderContext, render_context
from apranova_operator.settings import OperatorSettings

from .conftest import enrollment, load_track, make_context


def test_namespace_is_labelled_and_owned(dp: RenderContext) -> None:
    body = namespace.namespace(dp)
    assert body["metadata"]["name"] == "student-ada"
    assert body["metadata"]["labels"] == {
        labels.MANAGED_BY: "apranova-operator",
        labels.ENROLLMENT: "ada",
        labels.TRACK: "DP",
        labels.STUDENT: "ada",
    }
    (owner,) = body["metadata"]["ownerReferences"]
    assert owner["kind"] == "StudentEnrollment"
    assert owner["uid"] == "uid-1"


def test_selector_labels_are_copied_to_children() -> None:
    settings = OperatorSettings(_env_file=None, enrollment_selector={"apranova.io/test-run": "r1"})
    body = enrollment(**{"apranova.io/test-run": "r1", "other": "x"})
    ctx = render_context(body, "DP", load_track("dp"), settings)
    meta = namespace.service_account(ctx)["metadata"]
    assert meta["labels"]["apranova.io/test-run"] == "r1"
    assert "other" not in meta["labels"]


def test_foreign_namespace_is_not_ours() -> None:
    assert namespace.is_ours(None, "ada")
    assert namespace.is_ours({"metadata": {"labels": {labels.ENROLLMENT: "ada"}}}, "ada")
    assert not namespace.is_ours({"metadata": {"labels": {}}}, "ada")
    assert not namespace.is_ours({"metadata": {"labels": {labels.ENROLLMENT: "bob"}}}, "ada")


def test_service_account_mounts_no_token(dp: RenderContext) -> None:
    assert namespace.service_account(dp)["automountServiceAccountToken"] is False


def test_quota_follows_the_track(dp: RenderContext) -> None:
    hard = quota.resource_quota(dp)["spec"]["hard"]
    assert hard["limits.cpu"] == "4"
    assert hard["limits.memory"] == "8Gi"
    assert hard["requests.storage"] == "20Gi"
    assert hard["pods"] == "20"
    (limits,) = quota.limit_range(dp)["spec"]["limits"]
    assert limits["default"] == {"cpu": "500m", "memory": "512Mi"}
    assert limits["defaultRequest"] == {"cpu": "100m", "memory": "128Mi"}


def test_network_policies_deny_by_default_and_allow_what_is_needed() -> None:
    ctx = make_context("dp", ingress_controller_namespace="traefik", egress_database_port=6543)
    policies = {p["metadata"]["name"]: p["spec"] for p in network.network_policies(ctx)}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    sources = policies["allow-ingress"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}} in (
        sources
    )
    dns = policies["allow-egress"]["egress"][0]
    assert {"protocol": "UDP", "port": 53} in dns["ports"]
    assert policies["allow-database"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 6543}]


def test_no_database_policy_without_a_database(fsd: RenderContext) -> None:
    names = {p["metadata"]["name"] for p in network.network_policies(fsd)}
    assert names == {"default-deny", "allow-ingress", "allow-egress"}


def test_an_enrollment_per_track_has_its_own_namespace_and_hosts() -> None:
    body = enrollment()
    body["metadata"]["name"] = "ada-dp"
    ctx = render_context(body, "DP", load_track("dp"), OperatorSettings(_env_file=None))
    assert namespace.namespace(ctx)["metadata"]["name"] == "student-ada-dp"
    assert namespace.namespace(ctx)["metadata"]["labels"][labels.STUDENT] == "ada"
    jupyter = next(t for t in tools.track_tools(ctx) if t.name == "jupyter")
    assert tools.tool_host(ctx, jupyter) == "jupyter-ada-dp.students.localtest.me"


def test_a_name_that_is_not_the_students_is_invalid_input() -> None:
    body = enrollment()
    body["metadata"]["name"] = "bob-dp"
    with pytest.raises(InvalidInput) as raised:
        render_context(body, "DP", load_track("dp"), OperatorSettings(_env_file=None))
    assert raised.value.reason == "InvalidName"
