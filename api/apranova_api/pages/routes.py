"""The pages of the student journey, served by the API at the paths the journey names.

The pages are server-rendered shells; the small scripts in ``static/`` call the JSON API with the
session cookie. Nothing is loaded from another origin, so the pages work offline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from apranova_api.accounts.passwords import MIN_LENGTH as PASSWORD_MIN_LENGTH
from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.deps import PagesSettingsDep, TrackListerDep
from apranova_api.pages.navigation import safe_next_path
from apranova_api.pages.track_cards import track_cards, track_tools

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

STATIC_MEDIA_TYPES: Mapping[str, str] = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
STATIC_FILES: Mapping[str, Path] = {
    path.name: path
    for path in sorted(STATIC_DIR.iterdir())
    if path.is_file() and path.suffix in STATIC_MEDIA_TYPES
}
"""The files /static/ serves: a fixed list taken at start-up, so no path reaches the disk."""

log = logging.getLogger(__name__)

TRACKS_UNAVAILABLE = "The tracks cannot be loaded right now. Please try again in a minute."

templates = Jinja2Templates(directory=TEMPLATES_DIR)


router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    """The site's root is the start of the journey."""
    return RedirectResponse("/get-started", status_code=307)


@router.get("/get-started", response_class=HTMLResponse)
def get_started(request: Request, list_tracks: TrackListerDep) -> Response:
    """Every track with its description, features, tools and one-time price."""
    try:
        cards = track_cards(list_tracks())
    except KubeUnavailableError as error:
        log.warning("listing tracks for /get-started failed: %s", error)
        return templates.TemplateResponse(
            request,
            "get_started.html",
            {"cards": [], "unavailable": TRACKS_UNAVAILABLE},
            status_code=503,
        )
    return templates.TemplateResponse(
        request, "get_started.html", {"cards": cards, "unavailable": None}
    )


@router.get("/payment/success", response_class=HTMLResponse)
def payment_success(request: Request, settings: PagesSettingsDep, session_id: str = "") -> Response:
    """Waits for the account behind ``session_id``, then says what happens next."""
    session_id = session_id.strip()
    return templates.TemplateResponse(
        request,
        "payment_success.html",
        {"session_id": session_id, "discord_url": settings.discord_community_url},
        status_code=200 if session_id else 400,
    )


@router.get("/payment/cancel", response_class=HTMLResponse)
def payment_cancel(request: Request) -> Response:
    """Checkout was abandoned; nothing was paid."""
    return templates.TemplateResponse(request, "payment_cancel.html", {})


@router.get("/login", response_class=HTMLResponse)
def login(request: Request, next: str = "", password_set: str = "") -> Response:
    """Email and password; on success the script goes to ``next`` (a path on this site)."""
    return templates.TemplateResponse(
        request,
        "login.html",
        {"next_path": safe_next_path(next), "password_set": password_set == "1"},
    )


@router.get("/set-password", response_class=HTMLResponse)
def set_password(request: Request, token: str = "") -> Response:
    """The one-time link from the welcome or password-reset email."""
    token = token.strip()
    return templates.TemplateResponse(
        request,
        "set_password.html",
        {"token": token, "min_length": PASSWORD_MIN_LENGTH},
        status_code=200 if token else 400,
    )


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    settings: PagesSettingsDep,
    list_tracks: TrackListerDep,
) -> Response:
    """The student's home: track, tool cards with live readiness, projects and progress.

    The tools of each track come from the `Track` resources; when the cluster cannot be reached
    the cards appear as the status reports them, under the tools' own names.
    """
    try:
        tools = track_tools(list_tracks())
    except KubeUnavailableError as error:
        log.warning("listing tracks for /dashboard failed: %s", error)
        tools = {}
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {"discord_url": settings.discord_community_url, "track_tools": tools},
    )


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """One of the stylesheet and scripts in ``static/``."""
    path = STATIC_FILES.get(name)
    if path is None:
        raise HTTPException(status_code=404, detail=f"no static file named {name!r}")
    return FileResponse(
        path,
        media_type=STATIC_MEDIA_TYPES[path.suffix],
        headers={"Cache-Control": "no-cache"},
    )
