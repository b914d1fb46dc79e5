"""The kubelet's environment and command rules, and the mapping to a local process (no I/O)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from apranova.local.tools import catalog, kubelet
from apranova_operator.render import tools
from apranova_operator.render.context import render_context
from apranova_operator.settings import OperatorSettings

ROOT = Path(__file__).resolve().parents[3]


def _track(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifests" / "tracks" / f"{name}.yaml").read_text())


def _deployment(track: str, kind: str) -> dict[str, Any]:
    body = {
        "metadata": {"name": "ada", "uid": "u1", "labels": {}},
        "spec": {"student": {"email": "ada@example.com", "username": "ada"}, "track": track},
    }
    ctx = render_context(body, track, _track(track)["spec"], OperatorSettings())
    tool = next(t for t in tools.track_tools(ctx) if t.kind == kind)
    return tools.deployment(ctx, tool)


def test_every_default_track_image_has_a_local_stand_in() -> None:
    for track in ("dp", "fsd"):
        for tool in _track(track)["spec"]["tools"]:
            build = catalog.build_for(tool["image"])
            assert build is not None and build.kind == tool["kind"], tool["image"]


def test_env_resolves_references_in_order_and_expands_earlier_variables() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CM_"}],
        "env": [
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
            {"name": "URL", "value": "http://x/?t=$(TOKEN)&k=$(UNKNOWN)&d=$$(TOKEN)"},
            {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
            {
                "name": "DATABASE_URL",
                "valueFrom": {"secretKeyRef": {"name": "db", "key": "url", "optional": True}},
            },
        ],
    }
    env, literal = kubelet.resolve_env(
        container, {"creds": {"token": "s3"}}, {"settings": {"mode": "a"}}, {"IMAGE": "1"}
    )
    assert env == {
        "IMAGE": "1",
        "CM_mode": "a",
        "TOKEN": "s3",
        "URL": "http://x/?t=s3&k=$(UNKNOWN)&d=$(TOKEN)",
        "MODE": "a",
    }
    assert literal == {"IMAGE", "URL"}


@pytest.mark.parametrize(
    ("secrets", "message"),
    [({}, "Secret 'creds' not found"), ({"creds": {}}, "key 'token' in Secret 'creds'")],
)
def test_a_required_reference_that_is_missing_is_a_container_config_error(
    secrets: dict[str, dict[str, str]], message: str
) -> None:
    container = {
        "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}]
    }
    with pytest.raises(kubelet.ContainerConfigError, match=message):
        kubelet.resolve_env(container, secrets, {})


def test_jupyterlab_container_maps_only_port_address_and_paths(tmp_path: Path) -> None:
    deployment = _deployment("dp", "jupyterlab")
    build = catalog.build_for_kind("jupyterlab")
    secrets = {"jupyter-credentials": {"token": "tok-8888-0.0.0.0"}}
    process = kubelet.container_to_process(
        deployment, secrets, {}, build, tmp_path / "bin", tmp_path / "root", 43210
    )
    assert Path(process.argv[0]).name == "tini"
    assert Path(process.argv[0]).is_relative_to(tmp_path / "root")
    assert "--ServerApp.port=43210" in process.argv
    assert "--ServerApp.ip=127.0.0.1" in process.argv
    assert f"--ServerApp.root_dir={tmp_path}/root/home/jovyan/work" in process.argv
    assert process.env["JUPYTER_TOKEN"] == "tok-8888-0.0.0.0"
    assert process.env["HOME"] == f"{tmp_path}/root/home/jovyan"
    assert "DATABASE_URL" not in process.env
    assert (process.health_path, process.container_port) == ("/api", 8888)
    assert process.mapping.port == (8888, 43210)


def test_prefect_container_keeps_its_public_urls_and_maps_its_own(tmp_path: Path) -> None:
    deployment = _deployment("dp", "prefect")
    build = catalog.build_for_kind("prefect")
    secrets = {"prefect-credentials": {"auth-string": "admin:x"}}
    process = kubelet.container_to_process(
        deployment, secrets, {}, build, tmp_path / "bin", tmp_path / "root", 40000
    )
    assert process.argv[1:] == ["server", "start", "--host", "127.0.0.1", "--port", "40000"]
    assert process.env["PREFECT_API_URL"] == "http://127.0.0.1:40000/api"
    assert process.env["PREFECT_UI_URL"] == "https://prefect-ada.students.localtest.me"
    assert process.env["PREFECT_HOME"] == f"{tmp_path}/root/data/prefect"


def _secrets_for(deployment: dict[str, Any]) -> dict[str, dict[str, str]]:
    """A value for every Secret key the container refers to."""
    secrets: dict[str, dict[str, str]] = {}
    for item in deployment["spec"]["template"]["spec"]["containers"][0].get("env") or []:
        ref = (item.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            secrets.setdefault(ref["name"], {})[ref["key"]] = "secret-value"
    return secrets


@pytest.mark.parametrize("kind", ["jupyterlab", "superset", "codeserver"])
def test_every_bind_is_loopback_including_inside_the_image_files(tmp_path: Path, kind: str) -> None:
    track = "fsd" if kind == "codeserver" else "dp"
    build = catalog.build_for_kind(kind)
    deployment = _deployment(track, kind)
    process = kubelet.container_to_process(
        deployment, _secrets_for(deployment), {}, build, tmp_path / "bin", tmp_path / "root", 1234
    )
    copies = [f for f in (tmp_path / "root").rglob("*") if f.is_file()]
    assert copies, "the image files are copied under the local root"
    for text in [*process.argv, *process.env.values(), *(f.read_text() for f in copies)]:
        assert kubelet.ANY_ADDRESS not in text


def test_superset_start_script_binds_gunicorn_to_loopback_on_the_local_port(
    tmp_path: Path,
) -> None:
    build = catalog.build_for_kind("superset")
    deployment = _deployment("dp", "superset")
    secrets = _secrets_for(deployment)
    kubelet.container_to_process(
        deployment, secrets, {}, build, tmp_path / "bin", tmp_path / "root", 43210
    )
    script = (tmp_path / "root" / "usr" / "bin" / "run-server.sh").read_text()
    assert '--bind "${SUPERSET_BIND_ADDRESS:-127.0.0.1}:${SUPERSET_PORT:-43210}"' in script


def test_code_server_creates_its_project_folder_and_runs_the_image_entrypoint(
    tmp_path: Path,
) -> None:
    build = catalog.build_for_kind("codeserver")
    deployment = _deployment("fsd", "codeserver")
    process = kubelet.container_to_process(
        deployment, _secrets_for(deployment), {}, build, tmp_path / "bin", tmp_path / "root", 4321
    )
    home, entrypoint = tmp_path / "root" / "home" / "coder", tmp_path / "root" / "usr" / "bin"
    assert process.argv == [
        "/bin/sh",
        "-c",
        f'mkdir -p {home}/project && exec {entrypoint}/entrypoint.sh "$@"',
        "entrypoint.sh",
        "--bind-addr",
        "127.0.0.1:4321",
        "--auth",
        "password",
        "--disable-telemetry",
        f"{home}/project",
    ]
    assert process.env["PASSWORD"] == "secret-value"
    assert process.env["HOME"] == str(home)
