"""The API process's one settings object, with a section per part of the API.

Each section reads its own environment variables (names unchanged, see README.md): ``payments``
(:class:`~apranova_api.settings.Settings`: database, Stripe, redirects, labels), ``accounts``
and ``pages``. ``apranova api`` reads them once, in ``main``, and passes the object down;
nothing else reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from apranova.settings_errors import SettingsError, describe_settings_errors
from apranova_api.accounts.settings import AccountsSettings
from apranova_api.pages.settings import PagesSettings
from apranova_api.settings import Settings


@dataclass(frozen=True)
class ApiSettings:
    """Every setting of the API process, by section."""

    payments: Settings
    accounts: AccountsSettings = field(default_factory=AccountsSettings)
    pages: PagesSettings = field(default_factory=PagesSettings)


def load_api_settings() -> ApiSettings:
    """Read every section from the environment; :class:`SettingsError` lists every problem."""
    problems: list[str] = []
    sections: dict[str, BaseSettings] = {}
    for name, model in (
        ("payments", Settings),
        ("accounts", AccountsSettings),
        ("pages", PagesSettings),
    ):
        try:
            sections[name] = model()
        except ValidationError as error:
            problems.extend(describe_settings_errors(error))
    if problems:
        raise SettingsError(problems)
    return ApiSettings(**sections)  # type: ignore[arg-type]
