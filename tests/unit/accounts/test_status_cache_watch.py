"""The watch loop's recovery, against an in-memory stand-in for the API server's wire answers.

The stand-in speaks what ``kubernetes.watch`` reads: a list answer, then newline-separated JSON
events on a streamed response. It can answer 410 Gone or drop the connection mid-stream.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from apranova_api.adapters.status_cache import StatusCache


def _enrollment(name: str, version: str, host: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "resourceVersion": version},
        "spec": {"student": {"username": name}},
        "status": {"phase": "Ready", "tools": [{"name": "code", "url": f"https://{host}"}]},
    }


class _StreamedResponse:
    status = 200

    def __init__(self, events: list[dict[str, Any]], drop: bool) -> None:
        self._events = events
        self._drop = drop

    def stream(self, amt: Any = None, decode_content: bool = False) -> Iterator[bytes]:
        for event in self._events:
            yield (json.dumps(event) + "\n").encode()
        if self._drop:
            raise ConnectionResetError("connection dropped")

    def close(self) -> None:
        return None

    def release_conn(self) -> None:
        return None


class _ApiServer:
    """Plays a scripted sequence of watch answers; records what the cache asked for."""

    def __init__(self, watches: list[tuple[list[dict[str, Any]], bool]]) -> None:
        self.lists = 0
        self.watch_versions: list[str | None] = []
        self._watches = watches
        self.done = threading.Event()

    def list_cluster_custom_object(
        self, group: str, version: str, plural: str, **kwargs: Any
    ) -> object:
        if kwargs.get("watch"):
            if self.done.is_set():
                return _StreamedResponse([], drop=False)
            self.watch_versions.append(kwargs.get("resource_version"))
            if not self._watches:
                self.done.set()
                return _StreamedResponse([], drop=False)
            events, drop = self._watches.pop(0)
            return _StreamedResponse(events, drop)
        self.lists += 1
        return {
            "metadata": {"resourceVersion": str(10 * self.lists)},
            "items": [_enrollment("ada", str(10 * self.lists), "code-ada.example.com")],
        }


def _run(server: _ApiServer) -> StatusCache:
    cache = StatusCache(lambda: server)  # type: ignore[arg-type,return-value]
    cache.start()
    assert server.done.wait(30), "the cache never came back to watching"
    cache.stop()
    return cache


def test_a_410_gone_makes_the_cache_list_again_and_bookmarks_move_the_version() -> None:
    gone = {"type": "ERROR", "object": {"code": 410, "reason": "Expired", "message": "too old"}}
    bookmark = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "25"}}}
    server = _ApiServer([([gone], False), ([bookmark], False)])
    cache = _run(server)
    assert server.lists == 2
    assert server.watch_versions == ["10", "20", "25"]
    assert cache.synced and cache.owner_of_host("code-ada.example.com") == "ada"


def test_a_dropped_connection_resumes_from_the_last_version_seen() -> None:
    added = {"type": "ADDED", "object": _enrollment("bob", "11", "code-bob.example.com")}
    deleted = {"type": "DELETED", "object": _enrollment("ada", "12", "code-ada.example.com")}
    server = _ApiServer([([added, deleted], True)])
    cache = _run(server)
    assert server.lists == 1
    assert server.watch_versions == ["10", "12"]
    assert cache.get("ada") is None
    assert cache.owner_of_host("CODE-BOB.example.com:443") == "bob"
