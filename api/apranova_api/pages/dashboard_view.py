"""What the dashboard shows, as pure functions of the student, the status and the curriculum.

The server renders the dashboard from these (so it works without JavaScript), and the page's
script swaps in the same server-rendered parts when readiness or progress changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

STARTING_NOTE = "Starting up: this usually takes a minute or two."
PAUSED_NOTE = "Paused while your enrollment is suspended. Contact support to resume it."
FAILED_NOTE = "This tool could not be set up. Please contact support."
STATUS_UNAVAILABLE = "Your environment's status is not available yet."
PAUSED_STATUS = "This track is suspended: its tools are paused."


@dataclass(frozen=True)
class ToolCard:
    """One tool card: what the student reads and where "Open" leads (only when ready)."""

    name: str
    label: str
    ready: bool
    url: str | None
    note: str


def tool_note(ready: bool, phase: str | None) -> str:
    """A plain-language line for a tool that is not ready (never the operator's message)."""
    if ready:
        return ""
    if phase == "Suspended":
        return PAUSED_NOTE
    if phase == "Failed":
        return FAILED_NOTE
    return STARTING_NOTE


def tool_cards(
    expected: Sequence[Mapping[str, str]],
    reported: Sequence[Mapping[str, Any]],
    phase: str | None,
) -> list[ToolCard]:
    """Every tool of the track in the track's order, then any other tool the status reports.

    ``expected`` holds ``{name, label}`` per tool of the `Track`; ``reported`` the tools of
    ``GET /api/accounts/tools/`` (``name``, ``url``, ``ready``).
    """
    by_name = {str(tool.get("name")): tool for tool in reported}
    labels = {tool["name"]: tool.get("label") or tool["name"] for tool in expected}
    names = [tool["name"] for tool in expected] + [n for n in by_name if n not in labels]
    cards = []
    for name in names:
        tool = by_name.get(name, {})
        ready = bool(tool.get("ready")) and bool(tool.get("url"))
        cards.append(
            ToolCard(
                name=name,
                label=labels.get(name, name),
                ready=ready,
                url=str(tool["url"]) if ready else None,
                note=tool_note(ready, phase),
            )
        )
    return cards


def with_local_notes(cards: Sequence[ToolCard], notes: Mapping[str, str]) -> list[ToolCard]:
    """``make run`` with ``LOCAL_TOOLS=1``: each card whose tool URL's host has a note from the
    local tools (it cannot run here, or is being installed or started) says so in its note.

    ``notes`` maps lower-case ingress hosts to plain text; without notes the cards are unchanged.
    """
    noted = []
    for card in cards:
        host = (urlsplit(card.url).hostname or "") if card.url else ""
        note = notes.get(host)
        noted.append(replace(card, note=note) if note else card)
    return noted


def suspension_text(reason: str | None) -> str:
    """What a suspended track says about why (``reason`` is the enrollment's, if any)."""
    because = f": {reason}" if reason else ""
    return f"This track is suspended{because}. Its tools are stopped and your work is kept."


def tools_status(cards: Sequence[ToolCard], available: bool) -> str:
    """The sentence above the tool cards."""
    if not available:
        return STATUS_UNAVAILABLE
    ready = sum(1 for card in cards if card.ready)
    if cards and ready == len(cards):
        return "All your tools are ready."
    if not cards:
        return "Your environment is being created…"
    return f"{ready} of {len(cards)} tools ready; the rest are starting…"


def current_project(projects: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The project to work on: the first unlocked one, else the first not done, else the first."""
    for wanted in (lambda p: p["status"] == "unlocked", lambda p: p["status"] != "done"):
        for project in projects:
            if wanted(project):
                return project
    return projects[0] if projects else None


def progress_percent(progress: Mapping[str, int]) -> int:
    """Steps done as a whole percentage (0 for a curriculum without steps)."""
    total = progress.get("total", 0)
    return round(100 * progress.get("done", 0) / total) if total else 0


def first_name(name: str, email: str) -> str:
    """What the welcome line calls the student: the first word of the name, else the email."""
    return (name or email or "").split(" ")[0]
