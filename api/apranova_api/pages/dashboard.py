"""``/dashboard``: the student's home, rendered by the server from the session.

The page shows the track, a card per tool with its readiness, the GitHub repository (tracks
with the GitHub integration), the current project with its "Mark done" forms and the whole
curriculum. Two parts are also served alone (``/dashboard/parts/tools`` and
``/dashboard/parts/curriculum``) so the page's script can refresh them in place; without
JavaScript the student reloads the page, which a ``<noscript>`` note says.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from apranova_api.accounts.profile_routes import tools as tools_api
from apranova_api.accounts.progress_routes import curriculum as curriculum_api
from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.deps import (
    OptionalUser,
    ServicesDep,
    TrackLister,
    pages_settings_of,
    track_lister,
)
from apranova_api.models import User
from apranova_api.pages.dashboard_view import (
    current_project,
    first_name,
    progress_percent,
    tool_cards,
    tools_status,
)
from apranova_api.pages.routes import templates
from apranova_api.pages.success_view import track_display_name
from apranova_api.pages.track_cache import CachedTrackList
from apranova_api.pages.track_cards import track_tools
from apranova_api.services import Services

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

LOGIN_FIRST = "/login?next=%2Fdashboard"

SessionUser = OptionalUser


def cached_track_lister(request: Request) -> TrackLister:
    """The app's :class:`CachedTrackList` (made on first use) over the cluster's track lister."""
    cached = getattr(request.app.state, "dashboard_tracks", None)
    if cached is None:
        cached = request.app.state.dashboard_tracks = CachedTrackList(track_lister(request))
    return cached


Tracks = Annotated[TrackLister, Depends(cached_track_lister)]


def tools_context(user: User, services: Services, list_tracks: TrackLister) -> dict[str, Any]:
    """The tool cards, their summary sentence and the integrations' links."""
    try:
        expected = track_tools(list_tracks()).get(user.track, [])
    except KubeUnavailableError as error:
        log.warning("listing tracks for /dashboard failed: %s", error)
        expected = []
    try:
        status = tools_api(user, services)
        available = True
    except HTTPException:
        status, available = {"phase": None, "tools": []}, False
    cards = tool_cards(expected, status["tools"], status["phase"])
    all_ready = bool(cards) and all(card.ready for card in cards)
    return {
        "cards": cards,
        "all_ready": all_ready,
        "tools_status": tools_status(cards, available),
        "github_repository": status.get("github_repository"),
        "discord_invite": status.get("discord_invite"),
    }


def curriculum_context(user: User, services: Services) -> dict[str, Any]:
    """The current project (shown once, with its "Mark done" forms) and the curriculum."""
    plan = curriculum_api(user, services)
    current = current_project(plan["projects"])
    return {
        "plan": plan,
        "current": current,
        "is_first": bool(plan["projects"]) and current is plan["projects"][0],
        "percent": progress_percent(plan["progress"]),
    }


def render_dashboard(
    request: Request,
    user: User,
    services: Services,
    list_tracks: TrackLister,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The whole dashboard page for ``user``."""
    tools = tools_context(user, services, list_tracks)
    context = {
        **tools,
        **curriculum_context(user, services),
        "first_name": first_name(user.name, user.email),
        "track_name": track_display_name(user.track),
        "discord_url": tools["discord_invite"] or pages_settings_of(request).discord_community_url,
        "error": error,
        "tools_notice": pages_settings_of(request).tools_notice,
    }
    return templates.TemplateResponse(request, "dashboard.html", context, status_code=status)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request, services: ServicesDep, user: SessionUser, list_tracks: Tracks
) -> Response:
    """The student's home; without a session, the login page (which comes back here)."""
    if user is None:
        return RedirectResponse(LOGIN_FIRST, status_code=303)
    return render_dashboard(request, user, services, list_tracks)


def _logged_in(user: User | None) -> User:
    if user is None:
        raise HTTPException(401, "Log in first: no valid session.")
    return user


@router.get("/dashboard/parts/tools", response_class=HTMLResponse)
def tools_part(
    request: Request, services: ServicesDep, user: SessionUser, list_tracks: Tracks
) -> Response:
    """The tool cards alone (the page's script swaps them in while tools start); 401."""
    context = tools_context(_logged_in(user), services, list_tracks)
    return templates.TemplateResponse(request, "_dashboard_tools.html", context)


@router.get("/dashboard/parts/curriculum", response_class=HTMLResponse)
def curriculum_part(request: Request, services: ServicesDep, user: SessionUser) -> Response:
    """The current project and curriculum alone (after "Mark done" in the script); 401."""
    context = curriculum_context(_logged_in(user), services)
    return templates.TemplateResponse(request, "_dashboard_curriculum.html", context)
