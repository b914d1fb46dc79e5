"""``apranova operator`` refuses a bad health host or a busy port with one line and exit 2."""

from __future__ import annotations

import socket

import pytest

from apranova.listen_checks import bind_problem, host_problem, is_hostname
from apranova_operator.main import run_operator


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("localhost", True),
        ("api.example.com", True),
        ("999.1.1.1", False),
        ("bad host", False),
        ("-x.example.com", False),
        ("", False),
    ],
)
def test_host_names(text: str, ok: bool) -> None:
    assert is_hostname(text) is ok


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "127.0.0.1", "localhost"])
def test_listen_hosts_that_are_fine(host: str) -> None:
    assert host_problem(host) == ""


def _refusal(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_bad_health_host_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPERATOR_HEALTH_HOST", "999.1.1.1")
    assert run_operator([]) == 2
    line = _refusal(capsys)
    assert line.startswith("apranova operator: invalid setting: OPERATOR_HEALTH_HOST: "), line
    assert "neither an IP address nor a host name" in line


@pytest.mark.parametrize("variable", ["OPERATOR_HEALTH_PORT", "OPERATOR_METRICS_PORT"])
def test_a_busy_port_is_one_line_and_exit_2(
    variable: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken, socket.socket() as spare:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        spare.bind(("127.0.0.1", 0))
        busy, free = taken.getsockname()[1], spare.getsockname()[1]
        other = (
            "OPERATOR_METRICS_PORT"
            if variable == "OPERATOR_HEALTH_PORT"
            else "OPERATOR_HEALTH_PORT"
        )
        spare.close()
        monkeypatch.setenv("OPERATOR_HEALTH_HOST", "127.0.0.1")
        monkeypatch.setenv(variable, str(busy))
        monkeypatch.setenv(other, str(free))
        assert run_operator([]) == 2
    line = _refusal(capsys)
    assert line.startswith(f"apranova operator: invalid setting: {variable}: "), line
    assert f"127.0.0.1:{busy}" in line and "in use" in line


def test_an_unknown_host_is_reported_not_raised() -> None:
    assert "cannot resolve" in bind_problem("no-such-host.invalid", 8080)
