"""Request dependencies, declared once as typed ``Annotated`` aliases; handlers only name them.

Everything a handler needs beyond the request comes from the app ``create_app`` built: the
settings (:class:`~apranova_api.config.ApiSettings`) and the services on ``app.state``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from apranova_api.config import ApiSettings
from apranova_api.pages.settings import PagesSettings


def settings_of(request: Request) -> ApiSettings:
    """The app's settings, read once by ``apranova api``."""
    settings: ApiSettings = request.app.state.settings
    return settings


def pages_settings_of(request: Request) -> PagesSettings:
    """The ``pages`` section of the app's settings."""
    return settings_of(request).pages


SettingsDep = Annotated[ApiSettings, Depends(settings_of)]
PagesSettingsDep = Annotated[PagesSettings, Depends(pages_settings_of)]
