"""The student's curriculum and progress: projects unlock as the previous one is done."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.accounts.clock import utc_now
from apranova_api.accounts.enrollments import held_tracks
from apranova_api.accounts.progress import (
    curriculum_view,
    project_of_step,
    steps_unlocked_by_completing,
)
from apranova_api.curriculum import load_curriculum
from apranova_api.deps import CurrentUser, ServicesDep
from apranova_api.models import PROGRESS_DONE, PROGRESS_LOCKED, PROGRESS_UNLOCKED, StudentProgress

router = APIRouter()


def _progress_states(
    session: Session, user_id: int, lock: bool = False
) -> dict[str, StudentProgress]:
    query = select(StudentProgress).where(StudentProgress.user_id == user_id)
    if lock:
        query = query.with_for_update()
    return {row.step_id: row for row in session.scalars(query)}


@router.get("/api/curriculum/")
def curriculum(
    user: CurrentUser, services: ServicesDep, track: str | None = None
) -> dict[str, Any]:
    """A track's projects and steps, each locked, unlocked or done: ``?track=`` one the student
    holds (404 otherwise), by default the first."""
    held = [h.track for h in held_tracks(services.sessions, user.id)] or [user.track]
    wanted = track.upper() if track else held[0]
    if wanted not in held:
        raise HTTPException(404, f"You do not hold the track {track!r}.")
    with services.sessions() as session:
        rows = _progress_states(session, user.id)
    return curriculum_view(
        load_curriculum(wanted), {step: row.status for step, row in rows.items()}
    )


@router.post("/api/progress/steps/{step_id}/complete")
def complete_step(step_id: str, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Mark an unlocked step done; finishing a project unlocks the next one."""
    plans = [load_curriculum(h.track) for h in held_tracks(services.sessions, user.id)]
    plan = next((p for p in plans if project_of_step(p, step_id) is not None), None)
    if plan is None:
        raise HTTPException(404, f"Your tracks have no step {step_id!r}.")
    now = utc_now()
    with services.sessions() as session, session.begin():
        rows = _progress_states(session, user.id, lock=True)
        states = {step: row.status for step, row in rows.items()}
        state = states.get(step_id, PROGRESS_LOCKED)
        if state == PROGRESS_LOCKED:
            raise HTTPException(409, "This step is locked: finish the previous project first.")
        if state == PROGRESS_DONE:
            return {"step_id": step_id, "status": PROGRESS_DONE, "unlocked": []}
        unlocked = steps_unlocked_by_completing(plan, states, step_id)
        rows[step_id].status = PROGRESS_DONE
        rows[step_id].completed_at = now
        for next_step in unlocked:
            if next_step in rows:
                rows[next_step].status = PROGRESS_UNLOCKED
            else:
                session.add(
                    StudentProgress(user_id=user.id, step_id=next_step, status=PROGRESS_UNLOCKED)
                )
        return {"step_id": step_id, "status": PROGRESS_DONE, "unlocked": unlocked}
