"""Install tool stand-ins off the routing path, each at most once per stack.

``LOCAL_TOOLS=1 make run`` must keep routing the tools it has while another one installs (an npm
or PyPI install takes seconds to minutes), and a tool that cannot be installed here (code-server's
postinstall needs GitHub) must not be retried on every pass. :class:`BackgroundInstalls` runs
each install as a child process (``python -m apranova.local.tools.install KIND``, in its own
process group, output in ``<log folder>/<key>.log``, ``ToolBuild.key``) and answers at once:
installed, still installing, or failed. A failure is remembered per key for the life of
the object (the stack), never retried there; the installer's own output stays in the log and in
the cache's ``<key>.install-error.txt``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from apranova.local.tools import install
from apranova.local.tools.catalog import ToolBuild
from apranova.local.tools.runner import stop_group


@dataclass(frozen=True)
class InstallFailed:
    """An install that failed in this stack: the installer's last words and its full log."""

    build: ToolBuild
    error: str
    log_path: Path


def installer_command(build: ToolBuild) -> list[str]:
    """The command that installs ``build`` into the cache (``hack/install-tools.sh``'s)."""
    return [sys.executable, "-m", "apranova.local.tools.install", build.kind]


def _last_words(log_path: Path) -> str:
    """The installer's ``FAILED ...`` line, else the last line of its output."""
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith("FAILED ")]
    if failed:
        return failed[-1].removeprefix("FAILED ")
    return lines[-1] if lines else "the installer exited without output"


class BackgroundInstalls:
    """Installs in child processes; :meth:`get` never waits for one (see the module docstring).

    ``root`` is the tools cache (``install.cache_root()`` by default) and ``command`` makes the
    installer's argv for a build (tests pass a stand-in).
    """

    def __init__(
        self,
        log_folder: Path,
        root: Path | None = None,
        command: Callable[[ToolBuild], list[str]] = installer_command,
    ) -> None:
        self.log_folder = log_folder
        self.root = root
        self.command = command
        self._running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        self._failed: dict[str, InstallFailed] = {}
        self._stopped = False
        self._lock = threading.Lock()

    def get(self, build: ToolBuild) -> install.Installed | InstallFailed | None:
        """The finished install, the remembered failure, or ``None`` while it runs (started
        here on the first call; never after :meth:`stop`)."""
        with self._lock:
            if build.key in self._failed:
                return self._failed[build.key]
            running = self._running.get(build.key)
            if running is None:
                done = install.installed(build, self.root)
                if done is not None or self._stopped:
                    return done
                self._running[build.key] = self._spawn(build)
                return None
            process, log_path = running
            if process.poll() is None:
                return None
            del self._running[build.key]
            done = install.installed(build, self.root)
            if process.returncode == 0 and done is not None:
                return done
            failed = InstallFailed(build, _last_words(log_path), log_path)
            self._failed[build.key] = failed
            return failed

    def _spawn(self, build: ToolBuild) -> tuple[subprocess.Popen[bytes], Path]:
        self.log_folder.mkdir(parents=True, exist_ok=True)
        log_path = self.log_folder / f"{build.key}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                self.command(build),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return process, log_path

    def stop(self) -> None:
        """Start nothing more; end every running installer's process group and wait for it."""
        with self._lock:
            self._stopped = True
            running, self._running = list(self._running.values()), {}
        for process, _log_path in running:
            stop_group(process, timeout=10)
