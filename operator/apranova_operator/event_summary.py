"""What one reconcile tells in Events: one Event per kind of change, not one per object.

A reconcile that creates twelve objects posts one ``Created`` Event naming them; a status write
that moves several conditions posts one Event named after the most telling transition (``Ready``
first) that lists them all. Events cost API-server writes and etcd space for an hour; the story
``kubectl describe se`` tells stays complete. Pure functions of plain data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

READY = "Ready"
STARTING_REASONS = frozenset({"ToolsNotAvailable"})
"""Reasons a condition is False while a new environment starts as it should (its tools are
rolling out): the first status saying so is no news after the ``Created`` Event."""


def objects_message(verb: str, keys: Sequence[tuple[str, str]]) -> str:
    """``"created 3 objects: Secret a, Service b, Deployment c"``."""
    listed = ", ".join(f"{kind} {name}" for kind, name in keys)
    noun = "object" if len(keys) == 1 else "objects"
    return f"{verb} {len(keys)} {noun}: {listed}"


def transitions_event(
    before: Iterable[Mapping[str, Any]], changed: Sequence[Mapping[str, Any]]
) -> tuple[str, str, str] | None:
    """``(type, reason, message)`` of the one Event for a status write's condition transitions
    (``changed``: the new conditions whose status moved), or None when none moved.

    The reason is ``<Type><Status>`` of the Ready condition when it moved, else of the first
    one; the type is Warning when a condition that was True is no longer (suspension aside).
    No Event for a first status (no conditions ``before``) whose only False conditions are
    those of tools still starting (``STARTING_REASONS``).
    """
    if not changed:
        return None
    if not any(True for _ in before) and all(
        c["status"] == "True" or c.get("reason") in STARTING_REASONS for c in changed
    ):
        return None
    was = {c.get("type"): c.get("status") for c in before}
    main = next((c for c in changed if c["type"] == READY), changed[0])
    regressed = any(
        was.get(c["type"]) == "True" and c["status"] != "True" and c.get("reason") != "Suspended"
        for c in changed
    )
    parts = [
        f"{c['type']}={c['status']}"
        + (
            f" ({c.get('message') or c.get('reason')})"
            if c.get("message") or c.get("reason")
            else ""
        )
        for c in changed
    ]
    return "Warning" if regressed else "Normal", f"{main['type']}{main['status']}", "; ".join(parts)
