"""Record the first moment each object of a label selector satisfies a predicate (list + watch).

One watch per tracker (through the admin's client, not counted as the measured client's), so the
time an enrollment turned Ready or a Deployment Available is known to the event, not to a polling
interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

Lister = Callable[..., Any]


class FirstTimes:
    """Watches ``lister(label_selector=...)`` objects; ``times[key]`` is the monotonic time at
    which ``key_of(obj)`` first made ``done(obj)`` true (``key_of`` None: ignore the object)."""

    def __init__(
        self,
        lister: Lister,
        selector: str,
        key_of: Callable[[Mapping[str, Any]], str | None],
        done: Callable[[Mapping[str, Any]], bool],
        to_dict: Callable[[Any], Mapping[str, Any]] = lambda obj: obj,
    ) -> None:
        self._lister = lister
        self._selector = selector
        self._key_of = key_of
        self._done = done
        self._to_dict = to_dict
        self.times: dict[str, float] = {}
        self.seen: dict[str, Mapping[str, Any]] = {}
        self._stop = threading.Event()
        self._watch: watch.Watch | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="first-times", daemon=True)

    def start(self) -> FirstTimes:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()
        self._thread.join(5)

    def _note(self, obj: Mapping[str, Any]) -> None:
        key = self._key_of(obj)
        if key is None:
            return
        with self._changed:
            self.seen[key] = obj
            if key not in self.times and self._done(obj):
                self.times[key] = time.monotonic()
            self._changed.notify_all()

    def wait(self, keys: set[str], timeout: float) -> bool:
        """Block until every key is done (True) or ``timeout`` seconds passed (False)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not keys <= self.times.keys():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 1.0))
        return True

    def _run(self) -> None:
        version: str | None = None
        while not self._stop.is_set():
            try:
                if version is None:
                    listing = self._to_dict(self._lister(label_selector=self._selector))
                    for item in listing.get("items") or []:
                        self._note(self._to_dict(item))
                    version = listing["metadata"]["resourceVersion"]
                self._watch = watch.Watch()
                for event in self._watch.stream(
                    self._lister,
                    label_selector=self._selector,
                    resource_version=version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=120,
                ):
                    obj = event["raw_object"]
                    version = obj.get("metadata", {}).get("resourceVersion") or version
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._note(obj)
                    if self._stop.is_set():
                        return
            except ApiException as error:
                if error.status == 410:
                    version = None
                    continue
                log.warning("tracker watch failed: %s", error)
                time.sleep(1)
            except Exception as error:
                if self._stop.is_set():
                    return
                log.warning("tracker watch dropped: %s", error)
                time.sleep(1)
