"""``make run`` refuses a bad port variable or a second stack on the same local directory with
one line, before it starts (or later stops) anything; ``apranova cluster status | head`` is quiet.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from apranova.local import stack


@pytest.fixture
def local_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("APRANOVA_LOCAL_DIR", str(tmp_path / "local"))
    return tmp_path / "local"


@pytest.mark.parametrize("variable", ["APRANOVA_APISERVER_PORT", "API_PORT"])
def test_a_bad_port_variable_is_one_line_and_exit_2(
    variable: str,
    local_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, "abc")
    assert stack.main() == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: {variable}='abc' is not a port number (1-65535)"]
    assert not local_dir.exists()


def test_a_second_stack_is_refused_and_touches_nothing(
    local_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local_dir.mkdir()
    with FileLock(local_dir / "stack.lock"):
        assert stack.main() == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "another `make run` is already running" in lines[0], lines
    assert sorted(path.name for path in local_dir.iterdir()) == ["stack.lock"]


def test_cluster_status_into_a_closed_pipe_is_not_a_traceback(local_dir: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "apranova.cli", "cluster", "status"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert err == ""
