"""The operator's one clock: "now" as an aware UTC datetime, and the status timestamp format.

Timestamps in a status and in Events are RFC 3339 in UTC with second precision
(``2026-01-01T00:00:00Z``), as Kubernetes writes its own.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """``moment`` as a status timestamp (``YYYY-MM-DDTHH:MM:SSZ``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    """The current time as a status timestamp."""
    return timestamp(now())


def parse_timestamp(value: str) -> datetime:
    """A status timestamp (or any RFC 3339 time) as an aware datetime; ``ValueError`` if bad."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
