from __future__ import annotations

from apranova_api.accounts.progress import (
    curriculum_view,
    project_of_step,
    project_state,
    steps_unlocked_by_completing,
)
from apranova_api.curriculum import load_curriculum

DP = load_curriculum("DP")
FIRST, SECOND = DP.projects[0], DP.projects[1]


def _first_project_unlocked() -> dict[str, str]:
    return {step.id: "unlocked" for step in FIRST.steps}


def test_steps_without_state_are_locked_and_projects_summarise_their_steps() -> None:
    view = curriculum_view(DP, _first_project_unlocked())
    assert [p["status"] for p in view["projects"]][:2] == ["unlocked", "locked"]
    assert {s["status"] for s in view["projects"][1]["steps"]} == {"locked"}
    assert view["progress"] == {"done": 0, "total": len(DP.step_ids())}


def test_finishing_the_last_step_of_a_project_unlocks_the_next_project() -> None:
    states = {**_first_project_unlocked(), **{s.id: "done" for s in FIRST.steps[:-1]}}
    assert steps_unlocked_by_completing(DP, states, FIRST.steps[0].id) == []
    unlocked = steps_unlocked_by_completing(DP, states, FIRST.steps[-1].id)
    assert unlocked == [step.id for step in SECOND.steps]
    assert project_state(FIRST, {**states, FIRST.steps[-1].id: "done"}) == "done"


def test_the_last_project_unlocks_nothing_and_unknown_steps_have_no_project() -> None:
    last = DP.projects[-1]
    states = {step.id: "done" for step in DP.projects[-1].steps[:-1]}
    assert steps_unlocked_by_completing(DP, states, last.steps[-1].id) == []
    assert project_of_step(DP, "no-such-step") is None
