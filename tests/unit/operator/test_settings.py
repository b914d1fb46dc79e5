from __future__ import annotations

import pytest
from pydantic import ValidationError

from apranova.settings_errors import describe_settings_errors
from apranova_operator.main import load_settings
from apranova_operator.settings import OperatorSettings, parse_selector


def test_selector_parses_key_value_pairs() -> None:
    assert parse_selector("apranova.io/test-run=abc123, tier=x") == {
        "apranova.io/test-run": "abc123",
        "tier": "x",
    }
    assert parse_selector("") == {}


@pytest.mark.parametrize("text", ["novalue", "bad key=x", "k=bad value!"])
def test_selector_rejects_malformed_requirements(text: str) -> None:
    with pytest.raises(ValueError, match="label requirement"):
        parse_selector(text)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENROLLMENT_SELECTOR", "apranova.io/test-run=r1")
    monkeypatch.setenv("INGRESS_ANNOTATIONS", '{"cert-manager.io/cluster-issuer": "le"}')
    monkeypatch.setenv("BASE_DOMAIN", "students.example.com")
    settings = OperatorSettings()
    assert settings.enrollment_selector == {"apranova.io/test-run": "r1"}
    assert settings.ingress_annotations == {"cert-manager.io/cluster-issuer": "le"}
    assert settings.base_domain == "students.example.com"


def test_defaults() -> None:
    settings = OperatorSettings(_env_file=None)
    assert settings.base_domain == "students.localtest.me"
    assert settings.tool_host_template == "{tool}-{enrollment}.{baseDomain}"


def test_each_bad_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASE_DOMAIN", "not_a_domain")
    monkeypatch.setenv("TOOL_HOST_TEMPLATE", "{tool}.{nope}")
    monkeypatch.setenv("INGRESS_ANNOTATIONS", "[1]")
    monkeypatch.setenv("EGRESS_WEB_CIDR", "300.0.0.0/8")
    monkeypatch.setenv("OPERATOR_HEALTH_PORT", "70000")
    with pytest.raises(ValidationError) as raised:
        OperatorSettings()
    lines = describe_settings_errors(raised.value)
    for variable in (
        "BASE_DOMAIN",
        "TOOL_HOST_TEMPLATE",
        "INGRESS_ANNOTATIONS",
        "EGRESS_WEB_CIDR",
        "OPERATOR_HEALTH_PORT",
    ):
        assert any(line.startswith(variable + ":") for line in lines), (variable, lines)


def test_load_settings_reports_problems_instead_of_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOOL_AUTH_URL", "ftp://nope")
    problems = load_settings()
    assert isinstance(problems, list)
    assert any(line.startswith("TOOL_AUTH_URL:") for line in problems)
