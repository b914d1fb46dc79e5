"""The pages' forms as plain HTML POSTs: they work before or without JavaScript.

Each handler takes ``application/x-www-form-urlencoded`` fields, runs exactly the code of the
matching JSON endpoint, and answers with a redirect (303, so Back and reload never post again)
or the same page with the refusal on it. Passwords only ever travel in a POST body.

Cross-site posts are refused: a browser sends ``Origin`` with every form POST, and it must name
this host (the session cookie is ``SameSite=Lax`` too, so another site cannot post with it).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from apranova_api.accounts.progress_routes import complete_step
from apranova_api.accounts.routes import EmailIn, LoginIn, SetPasswordIn
from apranova_api.accounts.routes import login as login_api
from apranova_api.accounts.routes import logout as logout_api
from apranova_api.accounts.routes import password_reset as password_reset_api
from apranova_api.accounts.routes import set_password as set_password_api
from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.deps import OptionalUser, ServicesDep, TrackLister, track_lister
from apranova_api.pages.dashboard import cached_track_lister, render_dashboard, step_anchor
from apranova_api.pages.form_views import (
    login_context,
    set_login_hint,
    set_password_context,
)
from apranova_api.pages.navigation import safe_next_path
from apranova_api.pages.routes import render_get_started, templates
from apranova_api.payments.checkout import CheckoutBody, CheckoutError, create_checkout
from apranova_api.payments.gateway import GatewayUnavailableError

MISSING_CREDENTIALS = "Enter your email and your password."
BAD_EMAIL = "Enter the email you enrolled with, such as name@example.com."
DIFFERENT_PASSWORDS = "The two passwords are different."
CHECKOUT_UNAVAILABLE = "Checkout could not start. Please try again in a minute."


def same_origin(request: Request) -> None:
    """403 when the form was posted from another site.

    The ``Origin`` must name the host the request was sent to or the host of
    ``PUBLIC_BASE_URL`` (for proxies that rewrite ``Host``); ``Origin: null`` (sandboxed
    frames, ``Referrer-Policy: no-referrer``) is refused too. No ``Origin`` at all (not a
    browser) passes: the cookie's ``SameSite=Lax`` still keeps it out of cross-site posts.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return
    public = urlsplit(request.app.state.services.accounts.public_base_url).netloc
    allowed = {request.headers.get("host", "").lower(), public.lower()}
    if origin == "null" or urlsplit(origin).netloc.lower() not in allowed:
        raise HTTPException(403, "This form can only be sent from this site.")


router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])


def see_other(location: str, cookies_from: Response | None = None) -> RedirectResponse:
    """A 303 to ``location`` carrying the ``Set-Cookie`` headers of ``cookies_from``."""
    redirect = RedirectResponse(location, status_code=303)
    if cookies_from is not None:
        for name, value in cookies_from.raw_headers:
            if name.lower() == b"set-cookie":
                redirect.raw_headers.append((name, value))
    return redirect


def detail_text(error: HTTPException) -> str:
    """An ``HTTPException`` detail as one sentence (validation lists joined)."""
    if isinstance(error.detail, list):
        return " ".join(str(item.get("msg", item)) for item in error.detail)
    return str(error.detail)


@router.post("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    services: ServicesDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Log in; on success go to ``next`` (a path on this site) with the session cookie set."""
    next_path = safe_next_path(next)
    email = email.strip()[:320]

    def again(message: str, status: int, locked: bool = False, **headers: str) -> Response:
        context = login_context(next_path=next_path, email=email, error=message, locked=locked)
        return templates.TemplateResponse(
            request, "login.html", context, status_code=status, headers=headers or None
        )

    if not email or not password:
        return again(MISSING_CREDENTIALS, 422)
    try:
        answer = login_api(LoginIn(email=email, password=password[:1000]), request, services)
    except HTTPException as refusal:
        headers = refusal.headers or {}
        locked = refusal.status_code == 429
        return again(detail_text(refusal), refusal.status_code, locked, **headers)
    return see_other(next_path, answer)


@router.post("/password-reset", response_class=HTMLResponse)
def password_reset_form(
    request: Request, services: ServicesDep, email: Annotated[str, Form()] = ""
) -> Response:
    """Ask for a new set-password link; the answer never tells whether the account exists."""
    try:
        body = EmailIn(email=email.strip()[:320])
    except ValidationError:
        context = login_context(next_path=safe_next_path(""), reset_error=BAD_EMAIL)
        return templates.TemplateResponse(request, "login.html", context, status_code=422)
    password_reset_api(body, services)
    return see_other("/login?reset=sent#reset-title")


@router.post("/set-password", response_class=HTMLResponse)
def set_password_form(
    request: Request,
    services: ServicesDep,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Set the password with the link's token; then the login page, email pre-filled."""
    token = token.strip()

    def again(problem: str | None, errors: list[str], status: int) -> Response:
        context = set_password_context(token, problem, errors)
        return templates.TemplateResponse(request, "set_password.html", context, status_code=status)

    if password != confirm:
        return again(None, [DIFFERENT_PASSWORDS], 422)
    try:
        answer = set_password_api(SetPasswordIn(token=token, password=password[:1000]), services)
    except ValidationError:
        return again("This link is not valid. Ask for a new one below.", [], 400)
    except HTTPException as refusal:
        if refusal.status_code in (400, 410):
            return again(detail_text(refusal), [], refusal.status_code)
        messages = (
            [str(item.get("msg")) for item in refusal.detail]
            if isinstance(refusal.detail, list)
            else [detail_text(refusal)]
        )
        return again(None, messages, refusal.status_code)
    redirect = see_other("/login?password_set=1")
    set_login_hint(redirect, answer["email"], services)
    return redirect


@router.post("/logout")
def logout_form(request: Request, services: ServicesDep) -> Response:
    """End the session and go to the login page."""
    return see_other("/login", logout_api(request, services))


@router.post("/dashboard/steps/{step_id}/complete", response_class=HTMLResponse)
def complete_step_form(
    step_id: str,
    request: Request,
    services: ServicesDep,
    user: OptionalUser,
    list_tracks: Annotated[TrackLister, Depends(cached_track_lister)],
) -> Response:
    """Mark a step done and show the dashboard again at that track's current project."""
    if user is None:
        return see_other("/login?next=%2Fdashboard")
    try:
        complete_step(step_id, user, services)
    except HTTPException as refusal:
        return render_dashboard(
            request,
            user,
            services,
            list_tracks,
            error=detail_text(refusal),
            status=refusal.status_code,
        )
    return see_other("/dashboard#" + step_anchor(user, services, step_id))


@router.post("/get-started/checkout", response_class=HTMLResponse)
def enroll_form(
    request: Request, services: ServicesDep, track: Annotated[str, Form()] = ""
) -> Response:
    """Start a checkout for ``track`` and send the browser to it."""
    base = services.accounts.public_base_url
    body = CheckoutBody(
        track=track[:63] or "-",
        success_url=f"{base}/payment/success?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{base}/payment/cancel",
    )
    try:
        created = create_checkout(services, body, str(request.base_url))
    except CheckoutError as error:
        return enroll_failed(request, error.detail, error.status)
    except (KubeUnavailableError, GatewayUnavailableError):
        return enroll_failed(request, CHECKOUT_UNAVAILABLE, 503)
    return see_other(created.url)


def enroll_failed(request: Request, message: str, status: int) -> Response:
    """The tracks page again with why checkout did not start."""
    return render_get_started(request, track_lister(request), message, status)
