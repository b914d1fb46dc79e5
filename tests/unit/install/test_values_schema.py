"""values.schema.json accepts the chart's defaults and the CI values file, and rejects bad values
with a message that names the offending value (Helm shows the same validation errors)."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
import yaml

from tests.unit.install.install_files import CHART, PROJECT_ROOT

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)


def _merged(overrides: dict[str, Any]) -> dict[str, Any]:
    """The defaults with ``overrides`` merged in, the way Helm merges a values file."""

    def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        result = copy.deepcopy(base)
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = merge(result[key], value)
            else:
                result[key] = value
        return result

    return merge(DEFAULTS, overrides)


def _errors(values: dict[str, Any]) -> list[str]:
    return [
        "/".join(str(part) for part in error.absolute_path) + ": " + error.message
        for error in VALIDATOR.iter_errors(values)
    ]


def test_schema_is_a_valid_draft7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_default_values_are_valid() -> None:
    assert _errors(DEFAULTS) == []


def test_ci_values_file_is_valid() -> None:
    ci_values = yaml.safe_load((PROJECT_ROOT / "helm" / "ci-values.yaml").read_text())
    assert _errors(_merged(ci_values)) == []


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"operator": {"replicas": 2}}, "operator/replicas"),
        ({"api": {"replicas": 0}}, "api/replicas"),
        ({"image": {"pullPolicy": "Sometimes"}}, "image/pullPolicy"),
        ({"image": {"digest": "latest"}}, "image/digest"),
        ({"operator": {"env": {"LOG_LEVEL": "verbose"}}}, "operator/env/LOG_LEVEL"),
        ({"operator": {"env": {"BASE_DOMAIN": "Students_Example"}}}, "operator/env/BASE_DOMAIN"),
        ({"api": {"env": {"APRANOVA_ENV": "prod"}}}, "api/env/APRANOVA_ENV"),
        ({"api": {"env": {"nested": {"a": "b"}}}}, "api/env/nested"),
        ({"api": {"secretEnv": {"STRIPE_SECRET_KEY": 42}}}, "api/secretEnv/STRIPE_SECRET_KEY"),
        ({"api": {"existingSecret": "My_Secret"}}, "api/existingSecret"),
        ({"api": {"ingress": {"enabled": True}}}, "api/ingress/host"),
        ({"api": {"service": {"type": "Headless"}}}, "api/service/type"),
        ({"api": {"port": 70000}}, "api/port"),
        (
            {"api": {"podDisruptionBudget": {"minAvailable": "half"}}},
            "api/podDisruptionBudget/minAvailable",
        ),
        ({"api": {"resources": {"limits": {"memory": "lots"}}}}, "api/resources/limits/memory"),
        ({"operator": {"extraEnv": [{"value": "x"}]}}, "operator/extraEnv/0"),
        ({"operater": {"replicas": 1}}, ""),
        ({"api": {"replica": 3}}, "api"),
    ],
)
def test_bad_value_is_rejected_with_its_path(overrides: dict[str, Any], path: str) -> None:
    errors = _errors(_merged(overrides))
    assert errors, f"{overrides} was accepted"
    assert any(error.startswith(f"{path}:") for error in errors), errors


def test_env_names_must_be_environment_variable_names() -> None:
    errors = _errors(_merged({"operator": {"env": {"log-level": "INFO"}}}))
    assert any("log-level" in error for error in errors), errors
