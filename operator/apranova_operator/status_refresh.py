"""When a Deployment's status change reaches the enrollment's status: now, or a little later.

A tool's Deployment passes through several states before it is available ("update not
observed yet", "rolling out", "waiting for the tool to pass its readiness probe"); each used to
cost a status write. A change of a tool's *readiness* (ready against not ready, what the student
waits for) is written at once; a change of only its message waits ``MESSAGE_REFRESH_DELAY``
seconds, so that the Deployment becoming available meanwhile writes both in one status write.
A Deployment stuck in a state still gets its message written, a few seconds late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

MESSAGE_REFRESH_DELAY = 10.0
"""Seconds a message-only change of a tool's readiness waits to be coalesced."""


def refresh_delay(status: Mapping[str, Any] | None, tool: str, ready: bool) -> float:
    """Seconds before refreshing: 0 when ``tool``'s readiness differs from what the enrollment's
    ``status`` shows, else ``MESSAGE_REFRESH_DELAY``. A tool the status does not list yet (its
    first status is being written) shows as not ready."""
    shown = any(
        entry.get("name") == tool and entry.get("ready")
        for entry in (status or {}).get("tools") or []
    )
    return 0.0 if shown != ready else MESSAGE_REFRESH_DELAY


class DelayedRefreshes:
    """Status refresh requests per enrollment, each either now or after a delay, coalesced:
    a refresh requested now cancels the delayed one (it writes the latest state anyway).
    Entries exist only while a delayed refresh is pending."""

    def __init__(self, refresh: Callable[[str], None]) -> None:
        self._refresh = refresh
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._timers)

    def request(self, name: str, delay: float) -> None:
        """Refresh ``name`` after ``delay`` seconds (0: now)."""
        if delay <= 0:
            self.forget(name)
            self._refresh(name)
        elif name not in self._timers:
            self._timers[name] = asyncio.get_running_loop().call_later(delay, self._fire, name)

    def forget(self, name: str) -> None:
        """Cancel a pending delayed refresh of ``name``."""
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _fire(self, name: str) -> None:
        self._timers.pop(name, None)
        self._refresh(name)
