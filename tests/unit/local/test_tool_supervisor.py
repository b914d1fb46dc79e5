"""The ``LOCAL_TOOLS=1`` supervisor with fakes: background installs tried once, routing never
held up by an install, nothing started once stopping, every process of a tool's group waited for.

The tools are the operator's real renderings run through the real kubelet emulation and image
files; the stand-in installs are fakes: a ``jupyter`` that serves 200 on its port (and starts a
child that takes a moment to exit on SIGTERM) and installers that fail or never finish.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apranova.local.tools import catalog, install
from apranova.local.tools.background_install import BackgroundInstalls
from apranova.local.tools.proxy import Routes
from apranova.local.tools.rendered import RenderedTool
from apranova.local.tools.supervisor import ToolSupervisor

from .test_tool_kubelet import _deployment, _secrets_for

FAKE_JUPYTER = """#!{python}
import http.server, os, signal, subprocess, sys
port = int(next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--ServerApp.port=")))
child = subprocess.Popen([sys.executable, "-c", {child!r}])
with open(os.path.join(os.environ["HOME"], "child.pid"), "w") as f:
    f.write(str(child.pid))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
http.server.ThreadingHTTPServer(("127.0.0.1", port), Ok).serve_forever()
"""
SLOW_TO_STOP_CHILD = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(0.5), sys.exit(0)))\n"
    "time.sleep(600)\n"
)
FAILING_INSTALLER = "print('FAILED codeserver: getaddrinfo ENOTFOUND codeload.github.com')"
ENDLESS_INSTALLER = "import time; time.sleep(600)"


def _rendered(track: str, kind: str, username: str) -> RenderedTool:
    deployment = _deployment(track, kind)
    name = deployment["metadata"]["name"]
    host = f"{name}-{username}.students.test"
    ingress = {"spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/"}]}}]}}
    return RenderedTool(deployment, ingress, _secrets_for(deployment), {})


def _key(rendered: RenderedTool, username: str) -> tuple[str, str]:
    return username, rendered.deployment["metadata"]["name"]


def _fake_jupyterlab_install(cache: Path) -> None:
    build = catalog.build_for_kind("jupyterlab")
    installed = cache / build.key
    bin_dir = installed / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    jupyter = bin_dir / "jupyter"
    jupyter.write_text(FAKE_JUPYTER.format(python=sys.executable, child=SLOW_TO_STOP_CHILD))
    jupyter.chmod(0o755)
    facts: dict[str, Any] = {"packages": [*build.packages, *build.added], "seconds": 0}
    (installed / install.MARKER).write_text(json.dumps({**facts, "size_bytes": 0}))


class _Installers:
    """Installer commands per kind, counting how often each was started."""

    def __init__(self, scripts: dict[str, str]) -> None:
        self.scripts = scripts
        self.calls: dict[str, int] = {}

    def __call__(self, build: catalog.ToolBuild) -> list[str]:
        self.calls[build.kind] = self.calls.get(build.kind, 0) + 1
        return [sys.executable, "-c", self.scripts[build.kind]]


def _until(condition: Callable[[], bool], step: Callable[[], None]) -> None:
    for _ in range(4000):
        step()
        if condition():
            return
        time.sleep(0.02)
    pytest.fail("the condition never held")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def supervisor(tmp_path: Path) -> tuple[ToolSupervisor, _Installers]:
    cache = tmp_path / "cache"
    _fake_jupyterlab_install(cache)
    installers = _Installers({"codeserver": FAILING_INSTALLER, "superset": ENDLESS_INSTALLER})
    installs = BackgroundInstalls(tmp_path / "install-logs", root=cache, command=installers)
    routes = Routes()
    return ToolSupervisor(None, tmp_path / "tools", routes, installs=installs), installers


def test_a_failed_install_is_tried_once_said_plainly_and_holds_up_no_other_tool(
    supervisor: tuple[ToolSupervisor, _Installers], capsys: pytest.CaptureFixture[str]
) -> None:
    tools, installers = supervisor
    jupyter, code = _rendered("dp", "jupyterlab", "ada"), _rendered("fsd", "codeserver", "bob")
    superset = _rendered("dp", "superset", "ada")
    passes = [(_key(r, u), r) for r, u in ((code, "bob"), (superset, "ada"), (jupyter, "ada"))]

    def one_pass() -> None:
        for key, rendered in passes:
            tools.sync_tool(key, rendered)

    try:
        _until(
            lambda: (
                tools.routes.port(jupyter.host) is not None
                and "cannot run locally" in (tools.routes.note(code.host) or "")
            ),
            one_pass,
        )
        for _ in range(5):
            one_pass()
    finally:
        tools.stop()
    assert installers.calls == {"codeserver": 1, "superset": 1}
    note = tools.routes.note(code.host) or ""
    code_server = catalog.build_for_kind("codeserver").key
    assert note.startswith(f"code cannot run locally: cannot install {code_server}")
    assert "ENOTFOUND codeload.github.com" in note
    installing = f"superset is being installed locally ({catalog.build_for_kind('superset').key})"
    assert tools.routes.note(superset.host) == installing
    console = capsys.readouterr().out
    assert console.count("code of bob cannot run locally") == 1


def test_nothing_starts_once_stopping_and_each_tool_group_and_installer_is_waited_for(
    supervisor: tuple[ToolSupervisor, _Installers],
) -> None:
    tools, _installers = supervisor
    jupyter, superset = _rendered("dp", "jupyterlab", "ada"), _rendered("dp", "superset", "ada")
    key = _key(jupyter, "ada")
    _until(
        lambda: tools.serving(*key) is not None,
        lambda: [tools.sync_tool(key, jupyter), tools.sync_tool(_key(superset, "ada"), superset)],
    )
    assert tools.installs is not None
    installer = next(iter(tools.installs._running.values()))[0]
    pid_files = list(tools.folder.rglob("child.pid"))
    assert pid_files, "the fake jupyter writes its child's pid into its home"
    child = int(pid_files[0].read_text())

    tools.stop()
    assert _gone(child), "a process of the tool's group outlived stop()"
    assert installer.poll() is not None
    tools.sync_tool(key, jupyter)
    assert tools.routes.note(jupyter.host) is None, "a tool was started after stop()"
    assert tools.serving(*key) is None
    assert tools.routes.port(jupyter.host) is None
