"""A watch-based, in-process cache of every ``StudentEnrollment``'s status.

Students poll their tools every few seconds; answering each poll from this cache means the
Kubernetes API server sees one long-lived WATCH per API process instead of one GET per poll. The
cache lists once, then watches from the list's ``resourceVersion`` with bookmarks, resumes from
the newest version it saw when a connection drops, and lists again when the server answers 410
Gone (the version is too old). The views come from :mod:`apranova_contract.status`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from prometheus_client import Counter, Gauge

from apranova_contract.labels import ENROLLMENT_PLURAL, GROUP, VERSION
from apranova_contract.status import EnrollmentView, enrollment_view

WATCH_TIMEOUT_SECONDS = 240
MAX_BACKOFF_SECONDS = 30.0

log = logging.getLogger(__name__)

CACHE_SYNCED = Gauge(
    "apranova_status_cache_synced", "1 when the StudentEnrollment cache has completed a list"
)
CACHE_ENROLLMENTS = Gauge("apranova_status_cache_enrollments", "StudentEnrollments in the cache")
CACHE_LISTS = Counter("apranova_status_cache_lists_total", "Full lists of StudentEnrollments")
CACHE_EVENTS = Counter(
    "apranova_status_cache_watch_events_total", "Watch events received", ["type"]
)
CACHE_WATCH_ERRORS = Counter(
    "apranova_status_cache_watch_errors_total", "Watch connections that ended in an error"
)


def custom_objects_api() -> client.CustomObjectsApi:
    """A client from ``KUBECONFIG`` (or ``~/.kube/config``), else the in-cluster account."""
    try:
        return client.CustomObjectsApi(config.new_client_from_config())
    except (ConfigException, OSError, TypeError):
        config.load_incluster_config()
        return client.CustomObjectsApi(client.ApiClient())


def apply_event(
    views: Mapping[str, EnrollmentView], event_type: str, obj: Mapping[str, Any]
) -> dict[str, EnrollmentView]:
    """The cache contents after one watch event (ADDED, MODIFIED, DELETED; others change none)."""
    name = (obj.get("metadata") or {}).get("name")
    updated = dict(views)
    if not name:
        return updated
    if event_type in ("ADDED", "MODIFIED"):
        updated[name] = enrollment_view(obj)
    elif event_type == "DELETED":
        updated.pop(name, None)
    return updated


def host_owners(views: Iterable[EnrollmentView]) -> dict[str, str]:
    """Each tool host mapped to the username of the enrollment that owns it."""
    return {host: view.username for view in views for host in view.hosts}


class StatusCache:
    """The cache and its watch thread. Reads are lock-free snapshots of immutable views."""

    def __init__(self, objects_api_factory: Callable[[], client.CustomObjectsApi]) -> None:
        self._objects_api_factory = objects_api_factory
        self._views: dict[str, EnrollmentView] = {}
        self._owners: dict[str, str] = {}
        self._resource_version: str | None = None
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: watch.Watch | None = None

    @property
    def synced(self) -> bool:
        """True once the first full list has been loaded."""
        return self._synced.is_set()

    def get(self, name: str) -> EnrollmentView | None:
        """The enrollment called ``name``, or None when the cluster has none (yet)."""
        return self._views.get(name)

    def owner_of_host(self, host: str) -> str | None:
        """The username whose tool is served at ``host``, or None."""
        return self._owners.get(host.lower().split(":", 1)[0])

    def wait_synced(self, timeout: float) -> bool:
        """Block until synced or ``timeout`` seconds passed; True when synced."""
        return self._synced.wait(timeout)

    def start(self) -> None:
        """Start the watch thread (a daemon: it never holds the process open)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="status-cache", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the watch thread to end and wait briefly for it."""
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def _publish(self, views: dict[str, EnrollmentView]) -> None:
        self._views = views
        self._owners = host_owners(views.values())
        CACHE_ENROLLMENTS.set(len(views))

    def _run(self) -> None:
        backoff = 1.0
        api: client.CustomObjectsApi | None = None
        while not self._stop.is_set():
            try:
                api = api or self._objects_api_factory()
                if self._resource_version is None:
                    self._list(api)
                self._watch_until_timeout(api)
                backoff = 1.0
            except ApiException as error:
                CACHE_WATCH_ERRORS.inc()
                if error.status == 410:
                    log.info("status cache: resourceVersion expired, listing again")
                    self._resource_version = None
                    continue
                log.warning("status cache: API error %s, retrying in %.0fs", error.status, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            except Exception as error:
                if self._stop.is_set():
                    return
                CACHE_WATCH_ERRORS.inc()
                log.warning("status cache: watch dropped (%s), retrying in %.0fs", error, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _list(self, api: client.CustomObjectsApi) -> None:
        listing: dict[str, Any] = api.list_cluster_custom_object(  # type: ignore[assignment]
            GROUP, VERSION, ENROLLMENT_PLURAL, _request_timeout=60
        )
        CACHE_LISTS.inc()
        views = {view.name: view for view in (enrollment_view(item) for item in listing["items"])}
        self._publish(views)
        self._resource_version = listing["metadata"]["resourceVersion"]
        self._synced.set()
        CACHE_SYNCED.set(1)

    def _watch_until_timeout(self, api: client.CustomObjectsApi) -> None:
        self._watch = watch.Watch()
        stream = self._watch.stream(
            api.list_cluster_custom_object,
            GROUP,
            VERSION,
            ENROLLMENT_PLURAL,
            resource_version=self._resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_TIMEOUT_SECONDS,
            _request_timeout=WATCH_TIMEOUT_SECONDS + 30,
        )
        for event in stream:
            event_type = event["type"]
            obj = event["raw_object"]
            CACHE_EVENTS.labels(type=event_type).inc()
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if event_type != "BOOKMARK":
                self._publish(apply_event(self._views, event_type, obj))
            if version:
                self._resource_version = version
            if self._stop.is_set():
                self._watch.stop()
