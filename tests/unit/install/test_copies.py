"""The Helm chart and the kustomize base carry copies of crds/ and manifests/tracks/ (neither tool
reads files outside its own folder). hack/sync-crds.sh refreshes them; these tests fail while a
copy is stale, missing or left over."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.install.install_files import CHART, MANIFESTS, PROJECT_ROOT

COPIES = [
    (PROJECT_ROOT / "crds", CHART / "crds"),
    (PROJECT_ROOT / "crds", MANIFESTS / "crds"),
    (MANIFESTS / "tracks", CHART / "files" / "tracks"),
]


def _yaml_files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.yaml"))}


@pytest.mark.parametrize(
    ("source", "copy"), COPIES, ids=[str(c.relative_to(PROJECT_ROOT)) for _, c in COPIES]
)
def test_copy_is_identical_to_its_source(source: Path, copy: Path) -> None:
    originals = _yaml_files(source)
    assert originals, f"{source} holds no YAML files"
    copies = _yaml_files(copy)
    assert sorted(copies) == sorted(originals), "file names differ: run hack/sync-crds.sh"
    stale = [name for name, data in originals.items() if copies[name] != data]
    assert not stale, f"stale copies {stale} in {copy}: run hack/sync-crds.sh"
