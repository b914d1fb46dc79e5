"""Install each tool stand-in once into ``<cache>/tools/<kind>-<version>-<digest>/``.

``hack/install-tools.sh`` runs :func:`main`.

PyPI tools get their own virtual environment (``venv/``), made and filled by uv with the index as
it stood when the image was built; npm tools get ``node_modules/``, installed by npm running on
the Node.js the build names (:mod:`.node_runtime`, from npm itself), which is also linked as
``node_modules/.bin/node`` so the tool's ``#!/usr/bin/env node`` scripts run on it, as the image
runs its own bundled ``node``. Never the project's ``.venv``:
the tools' dependencies conflict with ours and with each other. A marker file ``installed.json``
(packages, seconds, bytes) is written last, so an interrupted install is redone, and so is one of
other packages; concurrent
installers of the same tool wait on a file lock. A failed install leaves ``install-error.txt``
with the installer's own output, which tests quote when they skip.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from apranova.local.tools.catalog import BUILDS, ToolBuild, build_for_kind
from apranova.local.tools.node_runtime import NodeRuntimeError, ensure_node, npm_environment

MARKER = "installed.json"
ERROR_FILE = "install-error.txt"


class InstallError(RuntimeError):
    """The installer failed; the message carries the command and the tail of its output."""


@dataclass(frozen=True)
class Installed:
    """A ready stand-in: its folder, the executables' folder, how long and how big."""

    build: ToolBuild
    path: Path
    seconds: float
    size_bytes: int

    @property
    def bin_dir(self) -> Path:
        """Where the tool's executables are (the venv's ``bin`` or ``node_modules/.bin``)."""
        if self.build.manager == "npm":
            return self.path / "node_modules" / ".bin"
        return self.path / "venv" / "bin"


def cache_root() -> Path:
    """``$APRANOVA_CACHE_DIR/tools`` (default ``~/.cache/apranova/tools``)."""
    base = os.environ.get("APRANOVA_CACHE_DIR") or str(Path.home() / ".cache" / "apranova")
    return Path(base) / "tools"


def _folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        raise InstallError("uv is not installed (it comes with the project's dev dependencies)")
    return found


def _run(command: list[str], log: list[str], env: dict[str, str] | None = None) -> None:
    log.append("$ " + " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    log.append(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise InstallError(f"{' '.join(command)} exited with {result.returncode}:\n{tail}")


def _commands(build: ToolBuild, target: Path) -> list[list[str]]:
    if build.manager == "npm":
        npm = ["npm", "install", "--unsafe-perm", "--no-audit", "--no-fund"]
        return [[*npm, "--prefix", str(target), *build.packages]]
    uv, python = _uv(), str(target / "venv" / "bin" / "python")
    install = [uv, "pip", "install", "--quiet", "--python", python]
    if build.exclude_newer:
        install += ["--exclude-newer", build.exclude_newer]
    return [
        [uv, "venv", "--quiet", "--python", sys.executable, str(target / "venv")],
        [*install, *build.packages, *build.added],
    ]


def _node_environment(build: ToolBuild, log: list[str]) -> dict[str, str] | None:
    """The installer's environment for a build on its own Node.js, else ``None`` (inherit)."""
    if not build.node:
        return None
    try:
        home = ensure_node(build.node)
    except NodeRuntimeError as error:
        raise InstallError(str(error)) from error
    log.append(f"# Node.js {build.node} from npm in {home}")
    return npm_environment(home, os.environ)


def _link_node(env: dict[str, str], target: Path) -> None:
    """``node_modules/.bin/node`` → the build's ``node`` (first in ``env``'s ``PATH``)."""
    node = Path(env["PATH"].split(os.pathsep)[0]) / "node"
    link = target / "node_modules" / ".bin" / "node"
    link.unlink(missing_ok=True)
    link.symlink_to(node)


def installed(build: ToolBuild, root: Path | None = None) -> Installed | None:
    """The finished install of ``build`` in the cache, or ``None``."""
    path = (root or cache_root()) / build.key
    marker = path / MARKER
    if not marker.is_file():
        return None
    facts = json.loads(marker.read_text())
    if facts.get("packages") != [*build.packages, *build.added]:
        return None
    if facts.get("node", "") != build.node:
        return None
    return Installed(build, path, facts["seconds"], facts["size_bytes"])


def install(build: ToolBuild, root: Path | None = None) -> Installed:
    """Install ``build`` unless the cache has it; :class:`InstallError` when the installer fails."""
    root = root or cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"{build.key}.lock")):
        done = installed(build, root)
        if done:
            return done
        target = root / build.key
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        log: list[str] = []
        started = time.monotonic()
        try:
            env = _node_environment(build, log)
            for command in _commands(build, target):
                _run(command, log, env)
            if env is not None:
                _link_node(env, target)
        except InstallError as error:
            (root / f"{build.key}.{ERROR_FILE}").write_text("\n".join(log))
            shutil.rmtree(target, ignore_errors=True)
            raise InstallError(f"{build.key} ({build.image}): {error}") from error
        seconds = round(time.monotonic() - started, 1)
        facts: dict[str, Any] = {
            "image": build.image,
            "packages": [*build.packages, *build.added],
            "node": build.node,
            "seconds": seconds,
            "size_bytes": _folder_size(target),
        }
        (target / MARKER).write_text(json.dumps(facts, indent=2))
        (root / f"{build.key}.{ERROR_FILE}").unlink(missing_ok=True)
        return Installed(build, target, seconds, facts["size_bytes"])


def main(argv: list[str] | None = None) -> int:
    """``install-tools [KIND...]``: install the stand-ins (all by default); 1 if any failed."""
    parser = argparse.ArgumentParser(prog="install-tools", description=__doc__)
    parser.add_argument("kinds", nargs="*", help="jupyterlab, prefect, superset, codeserver")
    args = parser.parse_args(argv)
    builds = [build_for_kind(kind) for kind in args.kinds] if args.kinds else list(BUILDS)
    failed = 0
    for build in builds:
        try:
            done = install(build)
        except InstallError as error:
            failed += 1
            print(f"FAILED {error}", file=sys.stderr)
            continue
        size = done.size_bytes / 2**20
        print(f"{build.key}: {done.path} ({size:.0f} MiB, installed in {done.seconds:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
