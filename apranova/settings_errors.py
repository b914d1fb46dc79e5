"""The one way settings problems are reported, by ``apranova api`` and ``apranova operator``.

Each bad environment variable gives one line, ``VARIABLE: what is wrong``, never its value.
"""

from __future__ import annotations

from pydantic import ValidationError


class SettingsError(ValueError):
    """Bad environment variables; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def describe_settings_errors(error: ValidationError, prefix: str = "") -> list[str]:
    """One line per problem of ``error``; ``prefix`` is the section's variable prefix
    (``STUDENT_DB_``). A problem of the whole section (a cross-field check) has no name."""
    lines = []
    for item in error.errors(include_input=False):
        message = item["msg"].removeprefix("Value error, ")
        variable = f"{prefix}{item['loc'][0]}".upper() if item["loc"] else ""
        lines.append(f"{variable}: {message}" if variable else message)
    return lines
