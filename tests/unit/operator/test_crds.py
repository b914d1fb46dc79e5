"""The CRDs document every field (``kubectl explain``) and have their printer columns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


def _crd(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "crds" / name).read_text())


def _undocumented(schema: dict[str, Any], path: str) -> Iterator[str]:
    for name, child in (schema.get("properties") or {}).items():
        where = f"{path}.{name}"
        if name == "metadata":
            continue
        if not child.get("description"):
            yield where
        yield from _undocumented(child, where)
    if "items" in schema:
        yield from _undocumented(schema["items"], path + "[]")


@pytest.mark.parametrize("name", ["studentenrollments.yaml", "tracks.yaml"])
def test_every_field_is_described(name: str) -> None:
    (version,) = _crd(name)["spec"]["versions"]
    schema = version["schema"]["openAPIV3Schema"]
    assert schema["description"]
    assert list(_undocumented(schema, "")) == []


def test_enrollment_names_and_columns() -> None:
    crd = _crd("studentenrollments.yaml")
    assert crd["spec"]["scope"] == "Cluster"
    assert crd["spec"]["names"]["shortNames"] == ["se", "enrollment"]
    (version,) = crd["spec"]["versions"]
    assert version["subresources"] == {"status": {}}
    columns = version["additionalPrinterColumns"]
    default = [c["name"] for c in columns if c.get("priority", 0) == 0]
    assert default == ["Email", "Track", "Phase", "Namespace", "Age"]
    wide = [c["name"] for c in columns if c.get("priority", 0) == 1]
    assert wide == ["Ready", "Reason", "Suspended", "Provider", "Ready-At"]


def test_conditions_and_tools_are_map_lists() -> None:
    (version,) = _crd("studentenrollments.yaml")["spec"]["versions"]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert status["conditions"]["x-kubernetes-list-map-keys"] == ["type"]
    assert status["tools"]["x-kubernetes-list-map-keys"] == ["name"]
