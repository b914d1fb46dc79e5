"""The operator's own writes, so the watch events they cause are not mistaken for someone else's,
and what it last saw of each child (a Deployment's readiness).

Every server-side apply or patch answers the object as written, with its new
``resourceVersion``; the watch event of that write carries the same version. Recording the
version per object lets a handler skip the event (the reconcile that wrote it already knows the
result), instead of asking for another full reconcile. For objects with a spec ``generation``
(Deployments) the generation last applied is kept too: an event from a controller (a revision
annotation, a status update) that leaves the generation where the operator put it is not drift.

A write's answer and its watch event race (both leave the API server at once): while a write of
an object is in flight, :meth:`OwnWrites.settled` lets a handler wait for its answer before
judging the event. One short entry per object the operator wrote (its key, version and
generation), dropped when the object's deletion is seen, so memory is bounded by the number of
children.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from apranova_operator.render.status import deployment_readiness

Key = tuple[str, str, str]


def object_key(kind: str, body: Mapping[str, Any]) -> Key:
    """``(kind, namespace, name)`` of an object (namespace empty for cluster-scoped kinds)."""
    metadata = body.get("metadata") or {}
    return kind, metadata.get("namespace") or "", metadata.get("name") or ""


class OwnWrites:
    """``resourceVersion`` and ``generation`` of the last write of each object by the operator."""

    def __init__(self) -> None:
        self._versions: dict[Key, str] = {}
        self._generations: dict[Key, int] = {}
        self._in_flight: Counter[Key] = Counter()
        self._lock = threading.Lock()
        self._readiness: dict[Key, tuple[bool, str]] = {}

    def readiness_changed(self, kind: str, body: Mapping[str, Any]) -> bool:
        """Whether a Deployment's readiness (as the status reports it) differs from the last one
        seen for it; remembers this one."""
        key = object_key(kind, body)
        readiness = deployment_readiness(body)
        changed = self._readiness.get(key) != readiness
        self._readiness[key] = readiness
        return changed

    def readiness(self, kind: str, namespace: str, name: str) -> tuple[bool, str] | None:
        """A Deployment's readiness as last seen (its last event, or the operator's last write
        of it), or None when this process has seen neither."""
        return self._readiness.get((kind, namespace, name))

    @contextmanager
    def writing(self, key: Key) -> Iterator[None]:
        """Mark a write of ``key`` as in flight for the duration of the block (any thread)."""
        with self._lock:
            self._in_flight[key] += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[key] -= 1
                if self._in_flight[key] <= 0:
                    del self._in_flight[key]

    async def settled(self, kind: str, body: Mapping[str, Any], limit: float = 5.0) -> None:
        """Wait (at most ``limit`` seconds) until no write of this object is in flight."""
        key = object_key(kind, body)
        deadline = time.monotonic() + limit
        while key in self._in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    def __len__(self) -> int:
        return len(self._versions)

    def note(self, body: Mapping[str, Any]) -> None:
        """Record an object as a write of the operator answered it (needs ``kind``)."""
        kind = body.get("kind")
        metadata = body.get("metadata") or {}
        if not kind or not metadata.get("resourceVersion"):
            return
        key = object_key(kind, body)
        self._versions[key] = metadata["resourceVersion"]
        if metadata.get("generation"):
            self._generations[key] = int(metadata["generation"])
        if kind == "Deployment":
            self._readiness[key] = deployment_readiness(body)

    def is_own(self, kind: str, body: Mapping[str, Any]) -> bool:
        """True when ``body`` is exactly the version the operator's last write produced."""
        version = (body.get("metadata") or {}).get("resourceVersion")
        return version is not None and self._versions.get(object_key(kind, body)) == version

    def applied_generation(self, kind: str, body: Mapping[str, Any]) -> int | None:
        """The ``generation`` the operator's last write of this object left, if it wrote one."""
        return self._generations.get(object_key(kind, body))

    def forget(self, kind: str, body: Mapping[str, Any]) -> None:
        """Drop an object that is gone."""
        key = object_key(kind, body)
        self._versions.pop(key, None)
        self._generations.pop(key, None)
        self._readiness.pop(key, None)
