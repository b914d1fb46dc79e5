"""Every track a student holds, as the accounts routes and pages show it.

:func:`held_tracks` reads the enrollment rows (oldest first: the first is the one single-track
clients see in the top-level fields); :func:`track_summary` is pure and joins one row with the
status cache's view of its StudentEnrollment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from apranova_api.adapters.status_cache import EnrollmentView
from apranova_api.curriculum import load_curriculum
from apranova_api.models import Enrollment
from apranova_api.payments import purchases


@dataclass(frozen=True)
class HeldTrack:
    """One enrollment row of a student, as plain data."""

    name: str
    track: str
    state: str
    suspension_reason: str | None


def held_tracks(sessions: sessionmaker[Session], user_id: int) -> list[HeldTrack]:
    """The student's enrollments, oldest first."""
    with sessions() as db:
        rows = db.scalars(
            select(Enrollment).where(Enrollment.user_id == user_id).order_by(Enrollment.id)
        )
        return [HeldTrack(r.name, r.track, r.state, r.suspension_reason) for r in rows]


def track_summary(held: HeldTrack, view: EnrollmentView | None) -> dict[str, Any]:
    """One track as ``/me`` and ``/tools`` list it (pure).

    ``state`` is ``ACTIVE``, ``SUSPENDED`` or ``REVOKED``; ``suspension_reason`` says why when
    it is not active; ``phase``, ``tools``, ``discord_invite`` and ``github_repository`` come
    from the environment's status (``None``/empty until the status cache has it).
    """
    return {
        "enrollment": held.name,
        "track": held.track,
        "track_name": load_curriculum(held.track).title,
        "state": held.state,
        "suspended": held.state != purchases.ACTIVE,
        "suspension_reason": held.suspension_reason,
        "phase": view.phase if view else None,
        "tools": [
            {"name": t.name, "url": t.url, "ready": t.ready, "message": t.message}
            for t in (view.tools if view else ())
        ],
        "discord_invite": view.discord_invite if view else None,
        "github_repository": view.github_repository if view else None,
    }
