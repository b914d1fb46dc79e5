"""The pages of the student journey, served by the API at the paths the journey names.

The server renders each page's content; forms post as plain HTML (``pages/forms.py``) and the small
scripts in ``static/`` only improve the pages. Nothing is loaded from another origin, so the pages
work offline. The dashboard lives in ``pages/dashboard.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.deps import PagesSettingsDep, ServicesDep, TrackLister, TrackListerDep
from apranova_api.pages.form_views import (
    link_problem,
    link_problem_status,
    login_context,
    login_hint,
    set_password_context,
)
from apranova_api.pages.navigation import safe_next_path
from apranova_api.pages.session_state import navigation_state
from apranova_api.pages.success_view import success_context
from apranova_api.pages.track_cards import track_cards

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

STATIC_MEDIA_TYPES: Mapping[str, str] = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
FAVICON = "favicon.svg"
STATIC_FILES: Mapping[str, Path] = {
    path.name: path
    for path in sorted(STATIC_DIR.iterdir())
    if path.is_file() and path.suffix in STATIC_MEDIA_TYPES
}
"""The files /static/ serves: a fixed list taken at start-up, so no path reaches the disk."""

log = logging.getLogger(__name__)

TRACKS_UNAVAILABLE = "The tracks cannot be loaded right now. Please try again in a minute."

templates = Jinja2Templates(directory=TEMPLATES_DIR, context_processors=[navigation_state])


router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    """The site's root is the start of the journey."""
    return RedirectResponse("/get-started", status_code=307)


@router.get("/get-started", response_class=HTMLResponse)
def get_started(request: Request, list_tracks: TrackListerDep) -> Response:
    """Every track with its description, features, tools and one-time price."""
    return render_get_started(request, list_tracks)


def render_get_started(
    request: Request, list_tracks: TrackLister, checkout_error: str | None = None, status: int = 200
) -> Response:
    """The tracks page; ``checkout_error`` says why the last "Enroll" did not start a checkout."""
    try:
        cards = track_cards(list_tracks())
    except KubeUnavailableError as error:
        log.warning("listing tracks for /get-started failed: %s", error)
        return templates.TemplateResponse(
            request,
            "get_started.html",
            {"cards": [], "unavailable": TRACKS_UNAVAILABLE, "checkout_error": checkout_error},
            status_code=503,
        )
    return templates.TemplateResponse(
        request,
        "get_started.html",
        {"cards": cards, "unavailable": None, "checkout_error": checkout_error},
        status_code=status,
    )


@router.get("/payment/success", response_class=HTMLResponse)
def payment_success(
    request: Request, settings: PagesSettingsDep, services: ServicesDep, session_id: str = ""
) -> Response:
    """The state of the checkout behind ``session_id``, rendered by the server.

    While the account is on its way the page says so; its script asks again every 3 s and
    reloads when the answer changes, and without JavaScript the page reloads itself.
    """
    session_id = session_id.strip()
    context, status = success_context(services, session_id, settings.discord_community_url)
    return templates.TemplateResponse(request, "payment_success.html", context, status_code=status)


@router.get("/payment/cancel", response_class=HTMLResponse)
def payment_cancel(request: Request) -> Response:
    """Checkout was abandoned; nothing was paid."""
    return templates.TemplateResponse(request, "payment_cancel.html", {})


@router.get("/login", response_class=HTMLResponse)
def login(request: Request, next: str = "", password_set: str = "", reset: str = "") -> Response:
    """Email and password, posted as a form to ``/login``; then ``next`` (a path on this site).

    After a password was set, the email comes pre-filled from the short-lived login hint.
    """
    return templates.TemplateResponse(
        request,
        "login.html",
        login_context(
            next_path=safe_next_path(next),
            password_set=password_set == "1",
            reset_sent=reset == "sent",
            email=login_hint(request),
        ),
    )


@router.get("/set-password", response_class=HTMLResponse)
def set_password(request: Request, services: ServicesDep, token: str = "") -> Response:
    """The one-time link from the welcome or password-reset email.

    A used, expired or unknown link says so at once and offers a new one instead of the form.
    """
    token = token.strip()
    problem = link_problem(services, token)
    return templates.TemplateResponse(
        request,
        "set_password.html",
        set_password_context(token, problem),
        status_code=link_problem_status(problem),
    )


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The site's icon, for browsers that ask for it at the conventional path."""
    return static_file(FAVICON)


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
