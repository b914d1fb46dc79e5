"""Whether the browser showing a page is logged in, for the site header's links."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from apranova_api.deps import optional_user
from apranova_api.models import User


def session_user(request: Request) -> User | None:
    """The user of the request's session, or None (also for an app without services, in tests)."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return None
    return optional_user(request, services)


def navigation_state(request: Request) -> dict[str, Any]:
    """Template context for every page: ``logged_in`` hides "Log in" and shows "Log out"."""
    return {"logged_in": session_user(request) is not None}
