"""Generated tool credentials: which keys each tool needs, and the Secret holding them.

Credentials are generated once: :func:`complete_credentials` keeps every existing value and only
fills keys that are missing, so reconciling never rotates a password behind a student's back.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from apranova_operator.render.context import RenderContext

ADMIN_USERNAME = "admin"


def credentials_secret_name(tool: str) -> str:
    return f"{tool}-credentials"


def complete_credentials(
    kind: str, existing: Mapping[str, str], new_secret: Callable[[], str]
) -> dict[str, str]:
    """The tool's credentials: ``existing`` plus generated values for missing keys."""
    data = dict(existing)
    if kind == "jupyterlab":
        data.setdefault("token", new_secret())
    elif kind == "superset":
        data.setdefault("secret-key", new_secret() + new_secret())
        data.setdefault("admin-username", ADMIN_USERNAME)
        data.setdefault("admin-password", new_secret())
    elif kind == "prefect":
        data.setdefault("username", ADMIN_USERNAME)
        data.setdefault("password", new_secret())
        data.setdefault("auth-string", f"{data['username']}:{data['password']}")
    elif kind == "codeserver":
        data.setdefault("password", new_secret())
    else:
        raise ValueError(f"unknown tool kind {kind!r}")
    return data


def secret(
    ctx: RenderContext, name: str, data: Mapping[str, str], tool: str | None
) -> dict[str, Any]:
    """An Opaque Secret in the student's namespace (values base64-encoded)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": ctx.metadata(name, tool),
        "type": "Opaque",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }


def decode_secret_data(body: Mapping[str, Any]) -> dict[str, str]:
    """The decoded ``data`` of a Secret object."""
    return {
        key: base64.b64decode(value).decode() for key, value in (body.get("data") or {}).items()
    }


def new_secret() -> str:
    """A fresh random credential (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)
