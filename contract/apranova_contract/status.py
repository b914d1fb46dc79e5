"""The StudentEnrollment's status: phases, condition types and the view the API reads.

The operator writes the status (``apranova_operator.render.status``); the API reads it only
through :func:`enrollment_view`. Pure functions of plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

PENDING = "Pending"
PROVISIONING = "Provisioning"
PHASE_READY = "Ready"
DEGRADED = "Degraded"
SUSPENDED = "Suspended"
TERMINATING = "Terminating"
FAILED = "Failed"
PHASES = (PENDING, PROVISIONING, PHASE_READY, DEGRADED, SUSPENDED, TERMINATING, FAILED)
SETTLED_PHASES = frozenset({PHASE_READY, DEGRADED, SUSPENDED, FAILED})
"""Phases past provisioning: the operator has been through every step once."""
RUNNING_PHASES = frozenset({PROVISIONING, PHASE_READY, DEGRADED})
"""Phases of an enrollment whose environment is being kept in place."""

READY = "Ready"
NAMESPACE_READY = "NamespaceReady"
TOOLS_READY = "ToolsReady"
DATABASE_READY = "DatabaseReady"
INTEGRATIONS_READY = "IntegrationsReady"
CONDITION_TYPES = (READY, NAMESPACE_READY, TOOLS_READY, DATABASE_READY, INTEGRATIONS_READY)


@dataclass(frozen=True)
class ToolView:
    """One tool of an enrollment as its status reports it."""

    name: str
    url: str
    ready: bool
    message: str


@dataclass(frozen=True)
class EnrollmentView:
    """What the API reads from a ``StudentEnrollment``."""

    name: str
    username: str
    phase: str | None
    tools: tuple[ToolView, ...]
    discord_invite: str | None
    github_repository: str | None
    integrations_settled: bool
    raw: Mapping[str, Any]

    @property
    def hosts(self) -> frozenset[str]:
        """The lower-cased hosts of the tools' URLs."""
        return frozenset(h for h in (host_of(tool.url) for tool in self.tools) if h)


def host_of(url: str) -> str | None:
    """The lower-cased host name of ``url`` (no port), or None when it has none."""
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
    except ValueError:
        return None
    return host.lower() if host else None


def enrollment_view(obj: Mapping[str, Any]) -> EnrollmentView:
    """The view of one ``StudentEnrollment`` object (a dict as the API server sends it)."""
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    student = spec.get("student") or {}
    tools = tuple(
        ToolView(
            name=str(tool.get("name", "")),
            url=str(tool.get("url") or ""),
            ready=bool(tool.get("ready", False)),
            message=str(tool.get("message") or ""),
        )
        for tool in status.get("tools") or []
        if isinstance(tool, Mapping)
    )
    integrations = status.get("integrations") or {}
    return EnrollmentView(
        name=str(metadata.get("name", "")),
        username=str(student.get("username") or metadata.get("name", "")),
        phase=status.get("phase"),
        tools=tools,
        discord_invite=integrations.get("discordInvite") or None,
        github_repository=integrations.get("githubRepository") or None,
        integrations_settled=integrations_settled(status),
        raw=obj,
    )


def integrations_settled(status: Mapping[str, Any]) -> bool:
    """True once the operator has been through the integrations (whatever came of it).

    That is an ``IntegrationsReady`` condition that is True or False, or a phase past
    provisioning; until then a Discord invite may still appear.
    """
    if status.get("phase") in SETTLED_PHASES:
        return True
    return any(
        isinstance(c, Mapping)
        and c.get("type") == INTEGRATIONS_READY
        and c.get("status") in ("True", "False")
        for c in status.get("conditions") or []
    )
