"""Curriculum progress, as pure functions of a track's curriculum and the student's step states.

A step is ``locked``, ``unlocked`` or ``done``; a step without a stored state is locked. Only an
unlocked step can be completed, and completing the last step of a project unlocks every step of
the next project.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apranova_api.curriculum import Curriculum, Project
from apranova_api.models import PROGRESS_DONE, PROGRESS_LOCKED, PROGRESS_UNLOCKED


def step_state(states: Mapping[str, str], step_id: str) -> str:
    """The state of one step (locked when nothing is stored)."""
    return states.get(step_id, PROGRESS_LOCKED)


def project_state(project: Project, states: Mapping[str, str]) -> str:
    """``done`` when every step is done, ``locked`` when every step is locked, else unlocked."""
    step_states = [step_state(states, step.id) for step in project.steps]
    if all(s == PROGRESS_DONE for s in step_states):
        return PROGRESS_DONE
    if all(s == PROGRESS_LOCKED for s in step_states):
        return PROGRESS_LOCKED
    return PROGRESS_UNLOCKED


def curriculum_view(curriculum: Curriculum, states: Mapping[str, str]) -> dict[str, Any]:
    """The JSON answer of ``GET /api/curriculum/``."""
    projects = [
        {
            "id": project.id,
            "title": project.title,
            "description": project.description,
            "status": project_state(project, states),
            "steps": [
                {"id": step.id, "title": step.title, "status": step_state(states, step.id)}
                for step in project.steps
            ],
        }
        for project in curriculum.projects
    ]
    step_ids = curriculum.step_ids()
    done = sum(1 for step_id in step_ids if step_state(states, step_id) == PROGRESS_DONE)
    return {
        "track": curriculum.track,
        "title": curriculum.title,
        "projects": projects,
        "progress": {"done": done, "total": len(step_ids)},
    }


def project_of_step(curriculum: Curriculum, step_id: str) -> int | None:
    """The index of the project holding ``step_id``, or None when the track has no such step."""
    for index, project in enumerate(curriculum.projects):
        if any(step.id == step_id for step in project.steps):
            return index
    return None


def steps_unlocked_by_completing(
    curriculum: Curriculum, states: Mapping[str, str], step_id: str
) -> list[str]:
    """Steps to unlock once ``step_id`` is done: the next project's, if this finished a project."""
    index = project_of_step(curriculum, step_id)
    if index is None:
        return []
    after = {**states, step_id: PROGRESS_DONE}
    if project_state(curriculum.projects[index], after) != PROGRESS_DONE:
        return []
    if index + 1 >= len(curriculum.projects):
        return []
    return [
        step.id
        for step in curriculum.projects[index + 1].steps
        if step_state(after, step.id) == PROGRESS_LOCKED
    ]
