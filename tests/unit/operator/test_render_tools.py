from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from apranova_contract import labels
from apranova_operator.render import tools
from apranova_operator.render.context import InvalidInput, RenderContext, render_context
from apranova_operator.settings import OperatorSettings

from .conftest import enrollment, load_track, make_context


def _tool(ctx: RenderContext, name: str) -> tools.ToolSpec:
    return next(t for t in tools.track_tools(ctx) if t.name == name)


def _container(ctx: RenderContext, name: str) -> dict[str, Any]:
    return tools.deployment(ctx, _tool(ctx, name))["spec"]["template"]["spec"]["containers"][0]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_dp_and_fsd_tools(dp: RenderContext, fsd: RenderContext) -> None:
    assert [(t.name, t.kind) for t in tools.track_tools(dp)] == [
        ("jupyter", "jupyterlab"),
        ("superset", "superset"),
        ("prefect", "prefect"),
    ]
    assert [(t.name, t.kind) for t in tools.track_tools(fsd)] == [("code", "codeserver")]


def test_missing_image_is_bad_input() -> None:
    track = load_track("fsd")
    del track["tools"][0]["image"]
    ctx = render_context(enrollment(track="FSD"), "FSD", track, OperatorSettings(_env_file=None))
    with pytest.raises(InvalidInput) as raised:
        tools.track_tools(ctx)
    assert raised.value.reason == "ImageMissing"
    assert "code" in raised.value.message


def test_host_and_url_from_the_template(dp: RenderContext) -> None:
    assert tools.tool_url(dp, _tool(dp, "jupyter")) == "https://jupyter-ada.students.localtest.me"
    ctx = make_context(
        "dp",
        tool_host_template="{username}-{tool}.lab.{baseDomain}",
        base_domain="example.com",
        tool_url_scheme="http",
    )
    assert tools.tool_url(ctx, _tool(ctx, "prefect")) == "http://ada-prefect.lab.example.com"


def test_template_giving_an_invalid_host_is_bad_input() -> None:
    settings = OperatorSettings(
        _env_file=None, tool_host_template="{username}-{username}-{tool}.{baseDomain}"
    )
    username = "a" * 40
    ctx = render_context(enrollment(username=username), "DP", load_track("dp"), settings)
    with pytest.raises(InvalidInput) as raised:
        tools.tool_host(ctx, _tool(ctx, "jupyter"))
    assert raised.value.reason == "InvalidHost"


def test_deployment_basics(dp: RenderContext) -> None:
    body = tools.deployment(dp, _tool(dp, "jupyter"))
    spec = body["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    assert spec["selector"]["matchLabels"] == {labels.ENROLLMENT: "ada", labels.TOOL: "jupyter"}
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "student"
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "jupyter-data"
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/apranova/jupyterlab:2024-12-23"
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "3Gi"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/api", "port": "http"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_suspended_scales_to_zero() -> None:
    ctx = make_context("dp", suspended=True)
    assert {tools.deployment(ctx, t)["spec"]["replicas"] for t in tools.track_tools(ctx)} == {0}


@pytest.mark.parametrize(
    ("track", "tool", "path", "port"),
    [
        ("dp", "jupyter", "/api", 8888),
        ("dp", "superset", "/health", 8088),
        ("dp", "prefect", "/api/health", 4200),
        ("fsd", "code", "/healthz", 8080),
    ],
)
def test_health_paths_and_ports(track: str, tool: str, path: str, port: int) -> None:
    container = _container(make_context(track), tool)
    assert container["ports"][0]["containerPort"] == port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == path


def test_jupyterlab_token_and_database(dp: RenderContext) -> None:
    container = _container(dp, "jupyter")
    env = _env(container)
    assert env["JUPYTER_TOKEN"] == {"secretKeyRef": {"name": "jupyter-credentials", "key": "token"}}
    assert env["DATABASE_URL"] == {
        "secretKeyRef": {"name": "student-database", "key": "sqlalchemy_url", "optional": True}
    }
    assert "--ServerApp.base_url=/" in container["args"]


def test_superset_secret_key_admin_and_database(dp: RenderContext) -> None:
    container = _container(dp, "superset")
    env = _env(container)
    assert env["SUPERSET_SECRET_KEY"]["secretKeyRef"]["key"] == "secret-key"
    assert env["ADMIN_PASSWORD"]["secretKeyRef"]["name"] == "superset-credentials"
    assert env["ADMIN_EMAIL"] == "ada@example.com"
    script = container["command"][-1]
    assert "superset fab create-admin" in script
    assert "superset set-database-uri" in script
    assert "$ADMIN_PASSWORD" in script


def test_prefect_auth_and_ui_url(dp: RenderContext) -> None:
    env = _env(_container(dp, "prefect"))
    assert env["PREFECT_SERVER_API_AUTH_STRING"]["secretKeyRef"]["key"] == "auth-string"
    assert env["PREFECT_UI_URL"] == "https://prefect-ada.students.localtest.me"
    assert env["PREFECT_UI_API_URL"] == "https://prefect-ada.students.localtest.me/api"


def test_prefect_database_url_is_the_libpq_url_asyncpg_accepts(dp: RenderContext) -> None:
    env = _env(_container(dp, "prefect"))
    assert env["DATABASE_URL"] == {
        "secretKeyRef": {"name": "student-database", "key": "libpq_url", "optional": True}
    }


def test_code_server_password_and_no_database(fsd: RenderContext) -> None:
    container = _container(fsd, "code")
    env = _env(container)
    assert env == {"PASSWORD": {"secretKeyRef": {"name": "code-credentials", "key": "password"}}}
    assert container["args"][:4] == ["--bind-addr", "0.0.0.0:8080", "--auth", "password"]


def test_no_credential_value_is_inline(dp: RenderContext) -> None:
    for tool in tools.track_tools(dp):
        for entry in _container(dp, tool.name)["env"]:
            assert "TOKEN" not in entry["name"] or "valueFrom" in entry
            assert "PASSWORD" not in entry["name"] or "valueFrom" in entry


def test_service_and_claim(dp: RenderContext) -> None:
    tool = _tool(dp, "superset")
    service = tools.service(dp, tool)
    assert service["spec"]["selector"] == {labels.ENROLLMENT: "ada", labels.TOOL: "superset"}
    claim = tools.persistent_volume_claim(dp, tool)
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert "storageClassName" not in claim["spec"]
    ctx = make_context("dp", storage_class="fast")
    assert tools.persistent_volume_claim(ctx, tool)["spec"]["storageClassName"] == "fast"


def test_ingress_defaults(dp: RenderContext) -> None:
    body = tools.ingress(dp, _tool(dp, "jupyter"))
    assert body["spec"]["ingressClassName"] == "nginx"
    assert body["spec"]["rules"][0]["host"] == "jupyter-ada.students.localtest.me"
    assert "tls" not in body["spec"]
    assert "nginx.ingress.kubernetes.io/auth-url" not in body["metadata"]["annotations"]


def test_ingress_tls_annotations_and_forward_auth() -> None:
    ctx = make_context(
        "dp",
        ingress_class="public",
        ingress_tls_secret="wildcard-tls",
        ingress_annotations={"cert-manager.io/cluster-issuer": "le"},
        tool_auth_url="http://api.apranova.svc/api/auth/tool-access",
        tool_auth_signin_url="https://app.example.com/login",
    )
    body = tools.ingress(ctx, _tool(ctx, "superset"))
    annotations = body["metadata"]["annotations"]
    assert body["spec"]["ingressClassName"] == "public"
    assert body["spec"]["tls"] == [
        {"hosts": ["superset-ada.students.localtest.me"], "secretName": "wildcard-tls"}
    ]
    assert annotations["cert-manager.io/cluster-issuer"] == "le"
    assert annotations["nginx.ingress.kubernetes.io/auth-url"].endswith("/api/auth/tool-access")
    assert annotations["nginx.ingress.kubernetes.io/auth-signin"] == "https://app.example.com/login"


def test_every_tool_object_carries_the_child_labels(dp: RenderContext) -> None:
    for tool in tools.track_tools(dp):
        for body in tools.tool_objects(dp, tool):
            found = body["metadata"]["labels"]
            assert found[labels.MANAGED_BY] == "apranova-operator"
            assert found[labels.ENROLLMENT] == "ada"
            assert found[labels.TRACK] == "DP"
            assert found[labels.TOOL] == tool.name
            assert body["metadata"]["namespace"] == "student-ada"


def test_pod_labels_do_not_depend_on_the_operator_selector() -> None:
    """Selector labels go on objects (for watching) but never into pod templates, so changing
    the operator's selector never restarts the students' tools."""
    settings = OperatorSettings(_env_file=None, enrollment_selector={"apranova.io/test-run": "r1"})
    body = enrollment(**{"apranova.io/test-run": "r1"})
    ctx = render_context(body, "DP", load_track("dp"), settings)
    deployment = tools.deployment(ctx, _tool(ctx, "jupyter"))
    assert deployment["metadata"]["labels"]["apranova.io/test-run"] == "r1"
    assert "apranova.io/test-run" not in deployment["spec"]["template"]["metadata"]["labels"]


SECRET_DATA = {
    "host": "db.example.com",
    "port": "5432",
    "user": "stu_ada",
    "password": "s3cret-password-value",
    "sqlalchemy_url": "postgresql+psycopg2://stu_ada:s3cret-password-value@db.example.com/x",
}


def _pod_annotations(ctx: RenderContext, name: str) -> dict[str, str] | None:
    template = tools.deployment(ctx, _tool(ctx, name))["spec"]["template"]
    return template["metadata"].get("annotations")


def test_credentials_digest_is_stable_and_changes_with_the_data() -> None:
    digest = tools.credentials_digest(SECRET_DATA)
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    assert tools.credentials_digest(dict(reversed(list(SECRET_DATA.items())))) == digest
    rotated = {**SECRET_DATA, "password": "another-password"}
    assert tools.credentials_digest(rotated) != digest
    assert tools.credentials_digest({**SECRET_DATA, "extra": ""}) != digest
    assert tools.credentials_digest({}) != digest
    assert tools.credentials_digest(None) == "absent"


def test_credentials_digest_reveals_no_value() -> None:
    digest = tools.credentials_digest(SECRET_DATA)
    assert not any(value in digest for value in SECRET_DATA.values())


def test_database_tools_carry_the_credentials_digest(dp: RenderContext) -> None:
    for name in ("jupyter", "superset", "prefect"):
        assert _pod_annotations(dp, name) == {"apranova.io/database-credentials": "absent"}
    digest = tools.credentials_digest(SECRET_DATA)
    ctx = replace(dp, database_credentials=digest)
    for name in ("jupyter", "superset", "prefect"):
        assert _pod_annotations(ctx, name) == {tools.DATABASE_CREDENTIALS_ANNOTATION: digest}
        assert tools.reads_database(ctx, _tool(ctx, name))


def test_tools_without_the_database_get_no_annotation(fsd: RenderContext) -> None:
    ctx = replace(fsd, database_credentials=tools.credentials_digest(SECRET_DATA))
    assert _pod_annotations(ctx, "code") is None
    assert not tools.reads_database(ctx, _tool(ctx, "code"))
    track = {**load_track("dp"), "database": False}
    settings = OperatorSettings(_env_file=None)
    no_database = render_context(enrollment(), "DP", track, settings)
    no_database = replace(no_database, database_credentials=tools.credentials_digest({}))
    assert _pod_annotations(no_database, "jupyter") is None
    assert "DATABASE_URL" not in _env(_container(no_database, "jupyter"))
