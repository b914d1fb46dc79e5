"""What the login and set-password pages show, and the short-lived login hint.

The pages post plain HTML forms (see :mod:`apranova_api.pages.forms`), so these contexts are
used both for the first view and to show a refused submission again with its message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request, Response

from apranova_api.accounts.clock import utc_now
from apranova_api.accounts.password_tokens import TokenRefusal, check_password_token
from apranova_api.accounts.passwords import MIN_LENGTH as PASSWORD_MIN_LENGTH
from apranova_api.models import User
from apranova_api.services import Services

LOGIN_HINT_COOKIE = "apranova_login_hint"
LOGIN_HINT_SECONDS = 600
"""After a password is set, the login page pre-fills the email for this long (never the URL)."""

NO_TOKEN = (
    "This link has no token in it. Use the link from your email exactly as it is, "
    "or ask for a new one below."
)
MAX_TOKEN_LENGTH = 200


def login_context(
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    locked: bool = False,
    password_set: bool = False,
    reset_sent: bool = False,
    reset_error: str | None = None,
) -> dict[str, Any]:
    """The login page's template context; ``locked`` adds the way out through a new link."""
    return {
        "next_path": next_path,
        "email": email,
        "error": error,
        "locked": locked,
        "password_set": password_set,
        "reset_sent": reset_sent,
        "reset_error": reset_error,
    }


def set_password_context(
    token: str, problem: str | None, errors: list[str] | None = None
) -> dict[str, Any]:
    """The set-password page's context; a ``problem`` with the link replaces the form."""
    return {
        "token": token,
        "problem": problem,
        "errors": errors or [],
        "min_length": PASSWORD_MIN_LENGTH,
    }


def link_problem(services: Services, token: str) -> str | None:
    """Why the set-password link ``token`` cannot be used, or None when it can (read only)."""
    if not token:
        return NO_TOKEN
    if len(token) > MAX_TOKEN_LENGTH:
        return TokenRefusal.UNKNOWN.value
    with services.sessions() as session:
        check = check_password_token(session, token, utc_now())
        if check.refusal is not None:
            return check.refusal.value
        user = session.get(User, check.user_id)
        if user is None or not user.is_active:
            return TokenRefusal.UNKNOWN.value
    return None


def link_problem_status(problem: str | None) -> int:
    """The page's status: 200 usable, 410 used or expired (the link was real), else 400."""
    if problem is None:
        return 200
    if problem in (TokenRefusal.USED.value, TokenRefusal.EXPIRED.value):
        return 410
    return 400


def set_login_hint(response: Response, email: str, services: Services) -> None:
    """Remember ``email`` for the login page in an httpOnly cookie scoped to ``/login``."""
    response.set_cookie(
        LOGIN_HINT_COOKIE,
        quote(email, safe="@"),
        max_age=LOGIN_HINT_SECONDS,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=services.accounts.session_cookie_secure,
    )


def login_hint(request: Request) -> str:
    """The email remembered by :func:`set_login_hint`, or an empty string."""
    return unquote(request.cookies.get(LOGIN_HINT_COOKIE, ""))[:320]
