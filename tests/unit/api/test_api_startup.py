"""``apranova api`` refuses bad settings of every module with one line per variable."""

from __future__ import annotations

import pytest

from apranova_api.main import run_api, settings_problems


def test_every_settings_module_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_URL", "nonsense")
    monkeypatch.setenv("DISCORD_COMMUNITY_URL", "ftp://example.com")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_not_allowed_here")
    problems = settings_problems()
    joined = "\n".join(problems)
    assert "SMTP_URL" in joined
    assert "DISCORD_COMMUNITY_URL" in joined
    assert "sk_live" in joined or "STRIPE_SECRET_KEY" in joined
    assert len(problems) >= 3


def test_run_api_exits_2_with_messages(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SESSION_TTL_SECONDS", "-1")
    assert run_api(["--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "apranova api: SESSION_TTL_SECONDS:" in err
    assert "Traceback" not in err


def test_good_defaults_have_no_problems(monkeypatch) -> None:
    for name in ("SMTP_URL", "DISCORD_COMMUNITY_URL", "STRIPE_SECRET_KEY", "SESSION_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    assert settings_problems() == []
