"""Stripe settings that cannot work stop ``apranova api`` at start-up; the API version is pinned."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import stripe
from packaging.requirements import Requirement

from apranova_api.main import settings_problems
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


def test_apranova_api_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in STRIPE_VARIABLES}
    env.update(
        STRIPE_SECRET_KEY="sk_test_abc",
        STRIPE_WEBHOOK_SECRET=" whsec_abc",
        DATABASE_URL=f"sqlite:///{tmp_path / 'never.db'}",
    )
    result = subprocess.run(
        [sys.executable, "-m", "apranova.cli", "api", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "apranova api: STRIPE_WEBHOOK_SECRET: Value error, contains whitespace "
        "(a stray space or newline from copying it?)"
    ]
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
