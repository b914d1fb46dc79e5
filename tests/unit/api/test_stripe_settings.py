"""Stripe settings that cannot work stop ``apranova api`` at start-up; the API version is pinned."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import stripe
from packaging.requirements import Requirement

from apranova_api.main import run_api, settings_problems
from apranova_api.payments.stripe_api import STRIPE_API_VERSION, api_release
from apranova_api.settings import secret_key_problem, webhook_secret_problem

PROJECT_ROOT = Path(__file__).resolve().parents[3]
STRIPE_VARIABLES = (
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_TIMEOUT_SECONDS",
    "STRIPE_MAX_RETRIES",
    "REQUEST_DEADLINE_SECONDS",
    "APRANOVA_ENV",
)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("whsec_abc\n", "whitespace"),
        (" whsec_abc", "whitespace"),
        ("sk_test_abc", "whsec_"),
        ("abc", "whsec_"),
        ("whsec_abc", ""),
    ],
)
def test_webhook_secret_rules(secret: str, problem: str) -> None:
    found = webhook_secret_problem(secret)
    assert (problem in found) if problem else found == ""


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("pk_test_abc", "publishable"),
        ("pk_live_abc", "publishable"),
        ("sk_test_abc\n", "whitespace"),
        ("whsec_abc", "sk_test_"),
        ("sk_test_abc", ""),
        ("rk_test_abc", ""),
    ],
)
def test_secret_key_rules(key: str, problem: str) -> None:
    found = secret_key_problem(key)
    assert (problem in found) if problem else found == ""


def test_one_line_per_bad_variable_and_no_secret_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "pk_test_visible123")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_visible456\n")
    monkeypatch.setenv("STRIPE_TIMEOUT_SECONDS", "0")
    monkeypatch.setenv("STRIPE_MAX_RETRIES", "-1")
    problems = settings_problems()
    for name in (
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_TIMEOUT_SECONDS",
        "STRIPE_MAX_RETRIES",
    ):
        assert len([p for p in problems if p.startswith(f"{name}:")]) == 1, problems
    assert "visible" not in "\n".join(problems)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("STRIPE_WEBHOOK_SECRET", "whsec_abc\n", "contains whitespace"),
        ("STRIPE_WEBHOOK_SECRET", " whsec_abc", "contains whitespace"),
        ("STRIPE_WEBHOOK_SECRET", "sk_test_abc", "starting with whsec_"),
        ("STRIPE_SECRET_KEY", "pk_test_abc", "publishable key"),
        ("STRIPE_SECRET_KEY", "sk_test_abc ", "contains whitespace"),
        ("STRIPE_TIMEOUT_SECONDS", "0", "greater than 0"),
        ("STRIPE_MAX_RETRIES", "9", "less than or equal to 5"),
        ("REQUEST_DEADLINE_SECONDS", "60", "less than or equal to 25"),
    ],
)
def test_apranova_api_refuses_to_start(
    variable: str,
    value: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    for name in STRIPE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_abc")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_abc")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    monkeypatch.setenv(variable, value)
    assert run_api(["--port", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"apranova api: {variable}: "), lines
    assert message in lines[0]
    assert "abc" not in lines[0]
    assert not (tmp_path / "never.db").exists()


def test_the_api_version_is_the_one_the_bounded_sdk_targets() -> None:
    assert api_release(STRIPE_API_VERSION) == api_release(stripe.api_version)
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    [requirement] = [
        Requirement(item)
        for item in project["project"]["dependencies"]
        if Requirement(item).name == "stripe"
    ]
    major = int(stripe.VERSION.split(".")[0])
    assert requirement.specifier.contains(stripe.VERSION)
    assert not requirement.specifier.contains(f"{major + 1}.0.0")
