"""Static checks of the chart that need no helm binary: every environment variable it sets or
refuses is a real setting."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.unit.install.install_files import CHART, PROJECT_ROOT, settings_variables

SETTINGS = {
    "operator": settings_variables("apranova_operator"),
    "api": settings_variables("apranova_api"),
}
ALL_SETTINGS = SETTINGS["operator"] | SETTINGS["api"]


def _fixed_env_names(template: str) -> set[str]:
    """Names of the variables a Deployment template sets itself (``dict "name" "X" ...``)."""
    text = (CHART / "templates" / template).read_text()
    return set(re.findall(r'dict "name" "([A-Z0-9_]+)"', text))


def test_variables_set_by_the_operator_template_are_settings() -> None:
    names = _fixed_env_names("operator-deployment.yaml")
    assert names, "the operator template sets no variables"
    assert names <= SETTINGS["operator"], names - SETTINGS["operator"]


@pytest.mark.parametrize(
    "values_file", [CHART / "values.yaml", PROJECT_ROOT / "helm" / "ci-values.yaml"]
)
@pytest.mark.parametrize("component", ["operator", "api"])
def test_env_and_secret_keys_in_values_files_are_settings(values_file, component: str) -> None:
    values = yaml.safe_load(values_file.read_text()).get(component, {})
    names = (
        set(values.get("env", {}))
        | set(values.get("secretEnv", {}))
        | {item["name"] for item in values.get("extraEnv", [])}
    )
    assert names <= SETTINGS[component], names - SETTINGS[component]


def test_credentials_refused_in_plain_env_are_real_settings() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    line = next(line for line in helpers.splitlines() if line.startswith('{{- list "DATABASE_URL"'))
    names = set(re.findall(r'"([A-Z0-9_]+)"', line))
    assert names <= ALL_SETTINGS, names - ALL_SETTINGS
