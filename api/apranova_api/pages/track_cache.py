"""The `Track` list for the dashboard, kept briefly so its live refresh never lists the cluster.

The dashboard's script asks for its tool cards every 3 s while tools start; each answer needs
the track's tools (names and labels). Tracks change rarely, so one list serves every request of
the process for ``TRACKS_TTL_SECONDS``; ``/get-started`` (prices) always lists afresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache

TRACKS_TTL_SECONDS = 30.0

TrackList = list[dict[str, Any]]


class CachedTrackList:
    """A callable returning ``list_tracks()``, listing at most once per TTL; errors pass through
    (``KubeUnavailableError``) and are not cached."""

    def __init__(
        self,
        list_tracks: Callable[[], TrackList],
        ttl: float = TRACKS_TTL_SECONDS,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._list_tracks = list_tracks
        self._cache: TTLCache[str, TrackList] = TTLCache(maxsize=1, ttl=ttl, timer=timer)
        self._lock = threading.Lock()

    def __call__(self) -> TrackList:
        with self._lock:
            tracks = self._cache.get("tracks")
            if tracks is None:
                tracks = self._list_tracks()
                self._cache["tracks"] = tracks
            return tracks
