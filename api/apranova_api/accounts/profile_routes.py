"""The logged-in student and the state of their environment (from the status cache)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from apranova_api.accounts.enrollments import HeldTrack, held_tracks, track_summary
from apranova_api.adapters.status_cache import EnrollmentView
from apranova_api.curriculum import load_curriculum
from apranova_api.deps import CurrentUser, ServicesDep
from apranova_api.models import User
from apranova_api.services import Services

router = APIRouter()


def enrollment_of(services: Services, held: list[HeldTrack]) -> EnrollmentView | None:
    """The first of the ``held`` enrollments from the status cache; 503 until the cache has
    synced."""
    if not services.status_cache.synced:
        raise HTTPException(503, "Environment status is not available yet; retry in a few seconds.")
    return services.status_cache.get(held[0].name) if held else None


def summaries_of(services: Services, held: list[HeldTrack]) -> list[dict[str, Any]]:
    """Every ``held`` track, oldest first, with its environment's status."""
    return [track_summary(h, services.status_cache.get(h.name)) for h in held]


def tracks_of(services: Services, user: User) -> list[dict[str, Any]]:
    """Every track the student holds, oldest first, with its environment's status."""
    return summaries_of(services, held_tracks(services.sessions, user.id))


@router.get("/api/accounts/me/")
def me(user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """The logged-in student and every track held (``enrollments``); the top-level ``track``,
    ``enrollment_status`` and ``phase`` describe the first one, as for one-track clients."""
    held = held_tracks(services.sessions, user.id)
    view = services.status_cache.get(held[0].name) if held else None
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "username": user.username,
        "role": user.role,
        "track": user.track,
        "track_name": load_curriculum(user.track).title,
        "enrollment_status": user.enrollment_status,
        "payment_verified": user.payment_verified,
        "phase": view.phase if view else None,
        "enrollments": summaries_of(services, held),
    }


@router.get("/api/accounts/tools/")
def tools(user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Each tool's name, URL and readiness, the Discord invite and the GitHub repository, from
    the status cache: top level for the first track (one-track clients), ``enrollments`` for
    every track."""
    held = held_tracks(services.sessions, user.id)
    view = enrollment_of(services, held)
    tracks = summaries_of(services, held)
    if view is None:
        return {
            "phase": None,
            "tools": [],
            "discord_invite": None,
            "github_repository": None,
            "enrollments": tracks,
        }
    return {
        "phase": view.phase,
        "tools": [
            {"name": t.name, "url": t.url, "ready": t.ready, "message": t.message}
            for t in view.tools
        ],
        "discord_invite": view.discord_invite,
        "github_repository": view.github_repository,
        "enrollments": tracks,
    }
