"""``/dashboard``: the student's home, rendered by the server from the session.

The page shows every track the student holds (a suspended one says why), and per track a card
per tool with its readiness, the GitHub repository (tracks with the GitHub integration), the
current project with its "Mark done" forms and the whole curriculum. Two parts of each track are
also served alone (``/dashboard/parts/tools`` and ``/dashboard/parts/curriculum``, with
``?enrollment=`` for a track after the first) so the page's script can refresh them in place;
without JavaScript the student reloads the page, which a ``<noscript>`` note says.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from apranova_api.accounts.profile_routes import tracks_of
from apranova_api.accounts.progress import project_of_step
from apranova_api.accounts.progress_routes import curriculum as curriculum_api
from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.curriculum import load_curriculum
from apranova_api.deps import (
    OptionalUser,
    ServicesDep,
    TrackLister,
    pages_settings_of,
    track_lister,
)
from apranova_api.models import User
from apranova_api.pages.dashboard_view import (
    PAUSED_STATUS,
    current_project,
    first_name,
    progress_percent,
    suspension_text,
    tool_cards,
    tools_status,
    with_local_notes,
)
from apranova_api.pages.local_tool_notes import read_local_tool_notes
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


def held_summaries(user: User, services: Services) -> list[dict[str, Any]]:
    """Every track the student holds (``/api/accounts/me/``'s ``enrollments``), oldest first; a
    student without enrollment rows (none granted yet) sees their account's track."""
    held = tracks_of(services, user)
    if held:
        return held
    return [
        {
            "enrollment": None,
            "track": user.track,
            "track_name": track_display_name(user.track),
            "suspended": False,
            "suspension_reason": None,
            "phase": None,
            "tools": [],
            "discord_invite": None,
            "github_repository": None,
        }
    ]


def tools_context(
    held: Mapping[str, Any], available: bool, list_tracks: TrackLister
) -> dict[str, Any]:
    """One track's tool cards, their summary sentence and the integrations' links."""
    try:
        expected = track_tools(list_tracks()).get(held["track"], [])
    except KubeUnavailableError as error:
        log.warning("listing tracks for /dashboard failed: %s", error)
        expected = []
    reported = held["tools"] if available else []
    cards = tool_cards(expected, reported, held["phase"] if available else None)
    all_ready = bool(cards) and all(card.ready for card in cards)
    return {
        "cards": cards,
        "all_ready": all_ready,
        "tools_status": PAUSED_STATUS if held["suspended"] else tools_status(cards, available),
        "github_repository": held.get("github_repository") if available else None,
    }


def curriculum_context(user: User, services: Services, track: str) -> dict[str, Any]:
    """One track's current project (shown once, with its "Mark done" forms) and curriculum."""
    plan = curriculum_api(user, services, track)
    current = current_project(plan["projects"])
    return {
        "plan": plan,
        "current": current,
        "is_first": bool(plan["projects"]) and current is plan["projects"][0],
        "percent": progress_percent(plan["progress"]),
    }


def track_context(
    user: User,
    services: Services,
    list_tracks: TrackLister,
    held: Mapping[str, Any],
    first: bool,
) -> dict[str, Any]:
    """Everything one track's part of the dashboard shows. The first track keeps the page's
    plain element ids; each further track's ids end in ``-<enrollment>`` (``sfx``) and its
    parts are fetched with ``?enrollment=<enrollment>`` (``part_query``)."""
    enrollment = held["enrollment"]
    return {
        **tools_context(held, services.status_cache.synced, list_tracks),
        **curriculum_context(user, services, held["track"]),
        "enrollment": enrollment,
        "track": held["track"],
        "track_name": held["track_name"],
        "suspended": held["suspended"],
        "suspension_text": suspension_text(held["suspension_reason"]),
        "sfx": "" if first else f"-{enrollment}",
        "part_query": "" if first else "?" + urlencode({"enrollment": enrollment}),
    }


def track_contexts(
    user: User, services: Services, list_tracks: TrackLister
) -> list[dict[str, Any]]:
    """:func:`track_context` of every track the student holds, oldest first."""
    return [
        track_context(user, services, list_tracks, held, index == 0)
        for index, held in enumerate(held_summaries(user, services))
    ]


def one_track(
    user: User, services: Services, list_tracks: TrackLister, enrollment: str | None
) -> dict[str, Any]:
    """The context of one track's part: ``enrollment`` names it (the first track when None);
    404 for an enrollment the student does not hold."""
    held = held_summaries(user, services)
    if enrollment is None:
        return track_context(user, services, list_tracks, held[0], True)
    for index, summary in enumerate(held):
        if summary["enrollment"] == enrollment:
            return track_context(user, services, list_tracks, summary, index == 0)
    raise HTTPException(404, f"You hold no enrollment {enrollment!r}.")


def step_anchor(user: User, services: Services, step_id: str) -> str:
    """The id of the "current project" heading of the track that has ``step_id`` (where the
    page returns after "Mark done")."""
    for index, held in enumerate(held_summaries(user, services)):
        if index and project_of_step(load_curriculum(held["track"]), step_id) is not None:
            return f"project-title-{held['enrollment']}"
    return "project-title"


def _noted(request: Request, track: dict[str, Any]) -> dict[str, Any]:
    """``track`` with the local tools' notes on its cards (``make run`` with LOCAL_TOOLS=1)."""
    notes = read_local_tool_notes(pages_settings_of(request).local_tools_notes_file)
    return {**track, "cards": with_local_notes(track["cards"], notes)} if notes else track


def render_dashboard(
    request: Request,
    user: User,
    services: Services,
    list_tracks: TrackLister,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The whole dashboard page for ``user``: one part per track held."""
    tracks = [_noted(request, track) for track in track_contexts(user, services, list_tracks)]
    invite = next((h["discord_invite"] for h in held_summaries(user, services)), None)
    context = {
        "tracks": tracks,
        "first_name": first_name(user.name, user.email),
        "track_name": tracks[0]["track_name"],
        "discord_url": invite or pages_settings_of(request).discord_community_url,
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


PART_TEMPLATES = {"tools": "_dashboard_tools.html", "curriculum": "_dashboard_curriculum.html"}


@router.get("/dashboard/parts/{part}", response_class=HTMLResponse)
def dashboard_part(
    part: Literal["tools", "curriculum"],
    request: Request,
    services: ServicesDep,
    user: SessionUser,
    list_tracks: Tracks,
    enrollment: str | None = None,
) -> Response:
    """One track's tool cards (the page's script swaps them in while tools start) or current
    project and curriculum (after "Mark done") alone: the first track's, or ``?enrollment=``'s;
    401 without a session, 404 for an enrollment the student does not hold."""
    context = {"t": _noted(request, one_track(_logged_in(user), services, list_tracks, enrollment))}
    return templates.TemplateResponse(request, PART_TEMPLATES[part], context)
