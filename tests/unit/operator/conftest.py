"""Shared data for the operator's renderer tests: an enrollment and the default tracks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from apranova_operator.render.context import RenderContext, render_context
from apranova_operator.settings import OperatorSettings

ROOT = Path(__file__).resolve().parents[3]


def load_track(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifests" / "tracks" / f"{name}.yaml").read_text())["spec"]


def enrollment(
    username: str = "ada", track: str = "DP", suspended: bool = False, **labels: str
) -> dict[str, Any]:
    return {
        "apiVersion": "apranova.io/v1alpha1",
        "kind": "StudentEnrollment",
        "metadata": {"name": username, "uid": "uid-1", "generation": 1, "labels": labels},
        "spec": {
            "student": {
                "id": "42",
                "email": "ada@example.com",
                "name": "Ada",
                "username": username,
            },
            "track": track,
            "suspended": suspended,
        },
    }


def make_context(track: str = "dp", suspended: bool = False, **settings: Any) -> RenderContext:
    return render_context(
        enrollment(track=track.upper(), suspended=suspended),
        track.upper(),
        load_track(track),
        OperatorSettings(_env_file=None, **settings),
    )


@pytest.fixture
def dp() -> RenderContext:
    return make_context("dp")


@pytest.fixture
def fsd() -> RenderContext:
    return make_context("fsd")
