"""Which Node.js an npm tool installs and runs on, and when a cached install is stale (no I/O
beyond a temporary folder)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from apranova.local.tools import catalog, install, node_runtime


def test_npm_runs_on_the_cached_node_and_builds_against_its_headers(tmp_path: Path) -> None:
    home = node_runtime.node_home("24.22.3", tmp_path)
    assert home == tmp_path / "node-24.22.3"
    env = node_runtime.npm_environment(home, {"PATH": "/usr/bin:/bin", "LANG": "C"})
    assert env == {
        "PATH": f"{home}/bin:/usr/bin:/bin",
        "LANG": "C",
        "npm_config_nodedir": str(home),
    }


def test_code_server_names_the_node_major_its_version_requires() -> None:
    build = catalog.build_for_kind("codeserver")
    assert build.manager == "npm" and build.node.split(".")[0] == "24"
    assert build.image == f"codercom/code-server:{build.version}"


def test_an_install_on_another_node_is_not_reused(tmp_path: Path) -> None:
    build = catalog.build_for_kind("codeserver")
    folder = tmp_path / build.key
    folder.mkdir()
    facts = {"packages": list(build.packages), "node": build.node, "seconds": 1, "size_bytes": 2}
    (folder / install.MARKER).write_text(json.dumps(facts))
    found = install.installed(build, tmp_path)
    assert found is not None and found.bin_dir == folder / "node_modules" / ".bin"
    assert install.installed(replace(build, node="22.0.0"), tmp_path) is None
    del facts["node"]
    (folder / install.MARKER).write_text(json.dumps(facts))
    assert install.installed(build, tmp_path) is None
