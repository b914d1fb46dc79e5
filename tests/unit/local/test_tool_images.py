"""The images the Tracks run are the images the tool contract tests stand in for (no I/O)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from apranova.local.tools import catalog

ROOT = Path(__file__).resolve().parents[3]
TRACK_FILES = sorted((ROOT / "manifests" / "tracks").glob("*.yaml")) + sorted(
    (ROOT / "helm" / "apranova" / "files" / "tracks").glob("*.yaml")
)


def _images(path: Path) -> list[str]:
    return [tool["image"] for tool in yaml.safe_load(path.read_text())["spec"]["tools"]]


@pytest.mark.parametrize("path", TRACK_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_track_image_has_a_stand_in_of_that_exact_tag(path: Path) -> None:
    for image in _images(path):
        assert catalog.build_for(image) is not None, f"{image} has no stand-in in catalog.py"


def _dockerfile_facts(path: Path) -> tuple[str, list[str]]:
    text = path.read_text()
    base = re.search(r"^FROM\s+(\S+)", text, re.MULTILINE)
    install = re.search(r"pip install (.*?)&&", text.replace("\\\n", " "), re.DOTALL)
    assert base and install, f"{path}: expected a FROM line and one `pip install ... &&`"
    return base.group(1), [word for word in install.group(1).split() if "==" in word]


@pytest.mark.parametrize("build", catalog.BUILDS, ids=lambda b: b.kind)
def test_a_derived_image_adds_exactly_what_the_contract_test_installs(
    build: catalog.ToolBuild,
) -> None:
    if not build.added:
        assert not build.dockerfile
        return
    assert build.dockerfile, f"{build.kind} adds {build.added} but names no image that adds them"
    base, pinned = _dockerfile_facts(ROOT / build.dockerfile)
    assert base == build.base_image
    assert sorted(pinned) == sorted(build.added)


def test_the_cache_folder_changes_with_the_installed_set() -> None:
    build = catalog.build_for_kind("prefect")
    same = catalog.ToolBuild(**{**build.__dict__})
    other = catalog.ToolBuild(**{**build.__dict__, "added": ("psycopg2-binary==2.9.10",)})
    assert same.key == build.key
    assert other.key != build.key and other.key.startswith("prefect-3.1.15-")
