"""A student's database credentials: the password, its SCRAM verifier and the Secret's data.

The operator never sends a plaintext password to the server. It sends a SCRAM-SHA-256 verifier
computed here (RFC 5802/7677, the format PostgreSQL stores in ``pg_authid``), so the password
cannot end up in the server's statement log or in ``pg_stat_statements``.

The verifier's salt is derived from the password and the role name with the same PBKDF2 cost as
the verifier itself. The verifier is therefore a pure function of (password, role): setting it on
every reconcile changes nothing in ``pg_authid``, which is what makes "the Secret is the source
of truth for the password" both cheap and idempotent. Deriving the salt this way costs no
strength: the salt reveals nothing cheaper to attack than the verifier does, and the passwords
are 256 random bits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import quote

from apranova_operator.database.settings import Endpoint

SECRET_NAME = "student-database"
SECRET_KEYS = frozenset(
    {"host", "port", "database", "user", "password", "schema", "sqlalchemy_url", "libpq_url"}
)
SCRAM_ITERATIONS = 4096
_SALT_BYTES = 16
_PASSWORD_BYTES = 32


def generate_password() -> str:
    """A fresh password: 256 random bits, URL-safe characters only."""
    return secrets.token_urlsafe(_PASSWORD_BYTES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def scram_verifier(password: str, role: str) -> str:
    """The ``SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`` verifier of ``password``."""
    secret = password.encode("utf-8")
    salt = hashlib.pbkdf2_hmac(
        "sha256", secret, b"apranova-scram-salt\x00" + role.encode("utf-8"), SCRAM_ITERATIONS
    )[:_SALT_BYTES]
    salted = hashlib.pbkdf2_hmac("sha256", secret, salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def _url(
    scheme: str, endpoint: Endpoint, database: str, user: str, password: str, schema: str
) -> str:
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    options = quote(f"-csearch_path={schema}", safe="")
    return (
        f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{endpoint.port}"
        f"/{quote(database, safe='')}?options={options}"
    )


def secret_data(
    endpoint: Endpoint, database: str, role: str, schema: str, password: str
) -> dict[str, str]:
    """The ``student-database`` Secret's data: parts and ready-to-use URLs with the search path."""
    return {
        "host": endpoint.host,
        "port": str(endpoint.port),
        "database": database,
        "user": role,
        "password": password,
        "schema": schema,
        "sqlalchemy_url": _url("postgresql+psycopg2", endpoint, database, role, password, schema),
        "libpq_url": _url("postgresql", endpoint, database, role, password, schema),
    }


def stored_password(data: Mapping[str, str] | None) -> str | None:
    """The password an existing Secret holds, or ``None`` when there is none to keep."""
    if not data:
        return None
    password = data.get("password", "")
    return password or None
