"""The logged-in student and the state of their environment (from the status cache)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from apranova_api.adapters.status_cache import EnrollmentView
from apranova_api.curriculum import load_curriculum
from apranova_api.deps import CurrentUser, ServicesDep
from apranova_api.models import User
from apranova_api.services import Services
from apranova_contract.names import enrollment_name

router = APIRouter()


def enrollment_of(services: Services, user: User) -> EnrollmentView | None:
    """The student's enrollment from the status cache; 503 until the cache has synced."""
    if not services.status_cache.synced:
        raise HTTPException(503, "Environment status is not available yet; retry in a few seconds.")
    return services.status_cache.get(enrollment_name(user.username))


@router.get("/api/accounts/me/")
def me(user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """The logged-in student, the track and the enrollment's phase."""
    view = services.status_cache.get(enrollment_name(user.username))
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
    }


@router.get("/api/accounts/tools/")
def tools(user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Each tool's name, URL and readiness, the Discord invite and the GitHub repository."""
    view = enrollment_of(services, user)
    if view is None:
        return {"phase": None, "tools": [], "discord_invite": None, "github_repository": None}
    return {
        "phase": view.phase,
        "tools": [
            {"name": t.name, "url": t.url, "ready": t.ready, "message": t.message}
            for t in view.tools
        ],
        "discord_invite": view.discord_invite,
        "github_repository": view.github_repository,
    }
