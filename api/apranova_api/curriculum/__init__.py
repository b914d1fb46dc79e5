"""The curriculum of each track, shipped as JSON data inside the package.

Pure and cached: ``load_curriculum("DP")`` always gives the same :class:`Curriculum`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

TRACKS: tuple[str, ...] = ("DP", "FSD")


@dataclass(frozen=True)
class Step:
    """One thing a student does; ``id`` is unique across every track."""

    id: str
    title: str


@dataclass(frozen=True)
class Project:
    """A project: a titled, ordered list of steps."""

    id: str
    title: str
    description: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Curriculum:
    """A track's projects, in the order students take them."""

    track: str
    title: str
    projects: tuple[Project, ...]

    @property
    def first_project(self) -> Project:
        """The project unlocked by enrolling."""
        return self.projects[0]

    def step_ids(self) -> tuple[str, ...]:
        """Every step id of the track, in order."""
        return tuple(step.id for project in self.projects for step in project.steps)


class UnknownTrackError(ValueError):
    """The track has no curriculum."""


def _parse(track: str, data: dict) -> Curriculum:
    projects = tuple(
        Project(
            id=p["id"],
            title=p["title"],
            description=p["description"],
            steps=tuple(Step(id=s["id"], title=s["title"]) for s in p["steps"]),
        )
        for p in data["projects"]
    )
    if not projects or not all(p.steps for p in projects):
        raise ValueError(f"curriculum of {track} needs projects, each with steps")
    return Curriculum(track=track, title=data["title"], projects=projects)


@cache
def load_curriculum(track: str) -> Curriculum:
    """The curriculum of ``track`` (``DP`` or ``FSD``); raises :class:`UnknownTrackError`."""
    if track not in TRACKS:
        raise UnknownTrackError(f"unknown track {track!r}; known tracks: {', '.join(TRACKS)}")
    text = (files(__package__) / f"{track.lower()}.json").read_text(encoding="utf-8")
    return _parse(track, json.loads(text))
