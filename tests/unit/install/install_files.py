"""Reading the install bundles (Helm chart, kustomize base) as plain data, for the unit tests."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import BaseSettings

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CHART = PROJECT_ROOT / "helm" / "apranova"
MANIFESTS = PROJECT_ROOT / "manifests"


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def chart_template_define(file_name: str, define: str) -> str:
    """The body of ``{{- define "<define>" -}} ... {{- end }}`` in a chart template file."""
    text = (CHART / "templates" / file_name).read_text()
    match = re.search(
        r'\{\{-? define "' + re.escape(define) + r'" -?\}\}\n(.*?)\{\{-? end \}\}', text, re.S
    )
    if match is None:
        raise LookupError(f"no define {define!r} in {file_name}")
    return match.group(1)


def chart_rules(define: str) -> list[dict[str, Any]]:
    """The rules of ``apranova.<define>`` in the chart's _rbac.tpl (plain YAML, no templating)."""
    return yaml.safe_load(chart_template_define("_rbac.tpl", f"apranova.{define}"))


def kustomize_objects() -> list[dict[str, Any]]:
    """Every object the kustomization lists (files only, before kustomize transforms them)."""
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    objects: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        objects.extend(load_yaml_documents(MANIFESTS / resource))
    return objects


def find_object(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise LookupError(f"no {kind} {name}")


def settings_variables(package: str) -> set[str]:
    """Every environment variable a pydantic-settings class in ``package`` reads.

    Imports each module of the package whose name ends in ``settings`` and collects the prefixed,
    upper-cased field names of the ``BaseSettings`` subclasses defined there.
    """
    root = importlib.import_module(package)
    variables: set[str] = set()
    for module_info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if not module_info.name.rsplit(".", 1)[-1].endswith("settings"):
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseSettings)
                and value is not BaseSettings
                and value.__module__ == module.__name__
            ):
                prefix = str(value.model_config.get("env_prefix", "") or "")
                variables.update(f"{prefix}{name}".upper() for name in value.model_fields)
    return variables
