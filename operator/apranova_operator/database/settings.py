"""Settings of the student-database step (``STUDENT_DB_*`` environment variables).

Validated once when the operator starts (see :func:`load_settings`), so a malformed URL or an
out-of-range number stops the operator with a message naming the variable. An empty
``STUDENT_DB_ADMIN_URL`` is allowed: enrollments of database tracks then report
``DatabaseReady=False`` with reason ``NotConfigured`` while everything else provisions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg2.extensions
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from apranova.settings_errors import describe_settings_errors

_DURATION = re.compile(r"^\d+(ms|s|min|h)?$")
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:(?P<port>\d{1,5}))?$")


class DatabaseSettingsError(ValueError):
    """A ``STUDENT_DB_*`` variable has a bad value; the message names each one."""


@dataclass(frozen=True)
class Endpoint:
    """Where students reach the server: host name (no brackets) and port."""

    host: str
    port: int


def parse_admin_url(url: str) -> dict[str, str]:
    """libpq connection parameters from a SQLAlchemy or libpq URL (or a ``key=value`` DSN).

    A SQLAlchemy driver suffix (``postgresql+psycopg2://``) is dropped; libpq itself then parses
    the rest, so every libpq parameter (``sslmode``, ``connect_timeout``...) is honoured.
    """
    libpq_url = re.sub(r"^postgres(ql)?\+[A-Za-z0-9_]+://", "postgresql://", url.strip())
    try:
        parameters = psycopg2.extensions.parse_dsn(libpq_url)
    except psycopg2.ProgrammingError:
        # libpq's message quotes the input, which may hold the password: say less.
        raise ValueError("is not a PostgreSQL connection URL that libpq can parse") from None
    if not parameters.get("dbname"):
        raise ValueError("must name the database that holds the student schemas")
    return parameters


def parse_host_port(text: str, default_port: int) -> Endpoint:
    """``host``, ``host:port`` or ``[v6]:port`` into an :class:`Endpoint`."""
    match = _HOST_PORT.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not host or host:port")
    port = int(match["port"]) if match["port"] else default_port
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range")
    return Endpoint(host=match["host"].strip("[]"), port=port)


class DatabaseSettings(BaseSettings):
    """The database step's configuration (environment variables prefixed ``STUDENT_DB_``)."""

    model_config = SettingsConfigDict(env_prefix="STUDENT_DB_", extra="ignore")

    admin_url: str = ""
    host_for_students: str = ""
    connection_limit: int = Field(default=10, ge=1, le=1000)
    statement_timeout: str = "5min"
    pool_size: int = Field(default=4, ge=1, le=32)
    connect_timeout: int = Field(default=5, ge=1, le=120)
    keep_data_on_delete: bool = False

    @field_validator("admin_url")
    @classmethod
    def _admin_url(cls, value: str) -> str:
        if value.strip():
            parse_admin_url(value)
        return value.strip()

    @field_validator("host_for_students")
    @classmethod
    def _host_for_students(cls, value: str) -> str:
        if value.strip():
            parse_host_port(value, 5432)
        return value.strip()

    @field_validator("statement_timeout")
    @classmethod
    def _statement_timeout(cls, value: str) -> str:
        if not _DURATION.match(value.strip()):
            raise ValueError(f"{value!r} is not a duration such as 30s, 5min or 60000 (ms)")
        return value.strip()

    @property
    def configured(self) -> bool:
        return bool(self.admin_url)

    def admin_parameters(self) -> dict[str, str]:
        """libpq parameters of the admin connection.

        Unless the URL says otherwise: a connect timeout, and TCP keepalives so that a server
        that vanished mid-query (host down, network cut) fails the work instead of hanging a
        pool slot forever.
        """
        return {
            "connect_timeout": str(self.connect_timeout),
            "keepalives": "1",
            "keepalives_idle": "30",
            "keepalives_interval": "10",
            "keepalives_count": "3",
            **parse_admin_url(self.admin_url),
        }

    def database_name(self) -> str:
        return parse_admin_url(self.admin_url)["dbname"]

    def student_endpoint(self) -> Endpoint:
        """The host and port written into the students' Secrets."""
        admin = parse_admin_url(self.admin_url)
        admin_port = int(admin.get("port", "5432").split(",")[0])
        if self.host_for_students:
            return parse_host_port(self.host_for_students, admin_port)
        return Endpoint(host=admin.get("host", "localhost").split(",")[0], port=admin_port)


def load_settings() -> DatabaseSettings:
    """The settings from the environment; :class:`DatabaseSettingsError` names each bad one."""
    try:
        return DatabaseSettings()
    except ValidationError as error:
        problems = describe_settings_errors(error, prefix="STUDENT_DB_")
        raise DatabaseSettingsError("; ".join(problems)) from None
