"""Request dependencies, declared once as typed ``Annotated`` aliases; handlers only name them.

Everything a handler needs beyond the request comes from what ``create_app`` built: the
settings (:class:`~apranova_api.config.ApiSettings`) and the service container
(:class:`~apranova_api.services.Services`) on ``app.state``, and the logged-in student.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from apranova_api.accounts.clock import utc_now
from apranova_api.accounts.sessions import user_of_token
from apranova_api.config import ApiSettings
from apranova_api.models import User
from apranova_api.pages.settings import PagesSettings
from apranova_api.services import Services

TrackLister = Callable[[], list[dict[str, Any]]]


def settings_of(request: Request) -> ApiSettings:
    """The app's settings, read once by ``apranova api``."""
    settings: ApiSettings = request.app.state.settings
    return settings


def pages_settings_of(request: Request) -> PagesSettings:
    """The ``pages`` section of the app's settings."""
    return settings_of(request).pages


def services_of(request: Request) -> Services:
    """The app's service container."""
    services: Services = request.app.state.services
    return services


def track_lister(request: Request) -> TrackLister:
    """How this process lists the `Track` resources (the app's Kubernetes adapter)."""
    return services_of(request).kube.list_tracks


SettingsDep = Annotated[ApiSettings, Depends(settings_of)]
PagesSettingsDep = Annotated[PagesSettings, Depends(pages_settings_of)]
ServicesDep = Annotated[Services, Depends(services_of)]
TrackListerDep = Annotated[TrackLister, Depends(track_lister)]


def token_of(request: Request, services: Services) -> str | None:
    """The access token from ``Authorization: Bearer`` or the session cookie."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.cookies.get(services.accounts.session_cookie_name) or None


def optional_user(request: Request, services: ServicesDep) -> User | None:
    """The logged-in user, or None."""
    token = token_of(request, services)
    if token is None:
        return None
    with services.sessions() as session:
        return user_of_token(session, token, utc_now())


OptionalUser = Annotated[User | None, Depends(optional_user)]


def current_user(user: OptionalUser) -> User:
    """The logged-in user; 401 otherwise."""
    if user is None:
        raise HTTPException(
            401, "Log in first: no valid session.", headers={"WWW-Authenticate": "Bearer"}
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]
