"""``apranova api`` refuses a bad database, address, sender, cookie name or Stripe pairing at
start-up with one line naming the variable and exit status 2, never a traceback."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from apranova_api.main import run_api


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "APRANOVA_ENV", "MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SESSION_COOKIE_NAME", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    handlers, level = logging.root.handlers[:], logging.root.level
    yield
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)


def _refusal(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("apranova api: ")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_URL", "foo://x", "is not a SQLAlchemy URL"),
        ("DATABASE_URL", "", "is empty"),
        ("DATABASE_URL", "mysql://u:hidden@db/x", "must be a SQLite or PostgreSQL URL"),
        ("MAIL_FROM", "notanemail", "is not an email address"),
        ("MAIL_FROM", "ApraNova <no reply@example.com>", "is not an email address"),
        ("SESSION_COOKIE_NAME", "bad name", "must be a cookie name (RFC 6265)"),
        ("SESSION_COOKIE_NAME", "sid;x", "must be a cookie name (RFC 6265)"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_abc", "is set without STRIPE_SECRET_KEY"),
    ],
)
def test_a_bad_variable_is_one_line_and_exit_2(
    variable: str,
    value: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv(variable, value)
    assert run_api(["--port", "1"]) == 2
    line = _refusal(capsys)
    assert line.startswith(f"apranova api: {variable}"), line
    assert message in line
    assert "hidden" not in line
    assert not (tmp_path / "never.db").exists()


@pytest.mark.parametrize(
    ("argv", "start"),
    [
        (["--port", "99999"], "apranova api: --port: 99999 is not a port number"),
        (["--port", "0"], "apranova api: --port: 0 is not a port number"),
        (["--host", "999.1.1.1"], "apranova api: --host: '999.1.1.1' is neither"),
    ],
)
def test_a_bad_listen_address_is_one_line_and_exit_2(
    argv: list[str], start: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_api(argv) == 2
    assert _refusal(capsys).startswith(start)


def test_an_unreachable_database_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A loopback port that is bound but not listening refuses every connection.
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
        url = f"postgresql+psycopg2://apranova:hidden@127.0.0.1:{port}/apranova"
        monkeypatch.setenv("DATABASE_URL", url)
        assert run_api(["--port", "1"]) == 2
    line = _refusal(capsys)
    assert line.startswith("apranova api: DATABASE_URL: cannot use the database: "), line
    assert str(port) in line and "hidden" not in line
