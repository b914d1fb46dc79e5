"""Kopf handlers: watch enrollments, tracks and children, and feed the work queue.

Kopf is used for what it is good at (watch streams, reconnects, liveness); the handlers only
decide *which* enrollment needs work and *how much* (a full reconcile or a status refresh). All
reconciling happens in :class:`~apranova_operator.reconciler.Reconciler` through a
:class:`~apranova_operator.workqueue.WorkQueue`. No handler polls on a timer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from apranova_contract import labels
from apranova_operator.kube import CHILD_KINDS, RESOURCES
from apranova_operator.metrics import ENROLLMENT_PHASES
from apranova_operator.own_writes import OwnWrites
from apranova_operator.reconciler import Reconciler
from apranova_operator.render.retention import DATA_RETAINED, DELETE_OPT_IN
from apranova_operator.status_refresh import DelayedRefreshes, refresh_delay
from apranova_operator.workqueue import WorkQueue

log = logging.getLogger(__name__)


def enrollment_needs_work(
    event_type: str | None, body: Mapping[str, Any], known: bool = False
) -> bool:
    """Whether an enrollment's watch event calls for a full reconcile.

    Additions always do, and so does the initial listing for an enrollment this process has not
    reconciled yet (``known``: a re-listing after the watch expired changes nothing);
    afterwards only a new spec generation, a deletion, a missing finalizer, or an opt-in to
    delete data it still keeps (the annotation of :mod:`~apranova_operator.render.retention`
    while the ``DataRetained`` condition stands) do, so the operator's own status writes cause
    no work.
    """
    if event_type == "ADDED" or (event_type is None and not known):
        return True
    metadata = body.get("metadata", {})
    status = body.get("status") or {}
    kept = any(c.get("type") == DATA_RETAINED for c in status.get("conditions") or [])
    return bool(
        (kept and DELETE_OPT_IN in (metadata.get("annotations") or {}))
        or metadata.get("deletionTimestamp")
        or metadata.get("generation") != status.get("observedGeneration")
        or labels.FINALIZER not in (metadata.get("finalizers") or [])
    )


def child_work(
    kind: str,
    event_type: str | None,
    body: Mapping[str, Any],
    own: bool = False,
    applied_generation: int | None = None,
) -> bool | None:
    """For a child's watch event: ``True`` full reconcile, ``False`` status refresh, ``None``
    nothing. The initial listing and additions (the operator's own creations) need nothing, nor
    does the operator's own write (``own``); deletions and edits are drift to repair; a
    Deployment whose spec generation is the one the operator applied (``applied_generation``;
    unknown after a restart: its observed generation) only needs its tool's readiness
    refreshed; status churn of quotas and claims is ignored."""
    if event_type in (None, "ADDED"):
        return None
    if event_type == "DELETED":
        return True
    if own:
        return None
    metadata = body.get("metadata", {})
    status = body.get("status") or {}
    if kind == "Deployment":
        expected = applied_generation or status.get("observedGeneration")
        return metadata.get("generation") != expected
    if kind == "ResourceQuota":
        return (body.get("spec") or {}).get("hard") != status.get("hard") or None
    if kind == "PersistentVolumeClaim":
        return None
    return True


def child_resource(kind: str) -> tuple[str, str, str]:
    """``(group, version, plural)`` of a child kind."""
    resource = RESOURCES[kind]
    return resource.group, resource.version, resource.plural


def watch_label_selectors(selector: Mapping[str, str]) -> dict[tuple[str, str, str], str]:
    """Label selectors Kopf sends to the API server with each watch (``labelSelector``), so the
    operator receives only its own enrollments and children, not every Secret, Deployment and
    Service of the cluster: ``(group, version, plural)`` to selector."""
    pairs = [f"{key}={value}" for key, value in sorted(selector.items())]
    found = {child_resource(kind): ",".join([labels.ENROLLMENT, *pairs]) for kind in CHILD_KINDS}
    if pairs:
        found[(labels.GROUP, labels.VERSION, labels.ENROLLMENT_PLURAL)] = ",".join(pairs)
    return found


async def _own(kind: str, body: Mapping[str, Any], own: OwnWrites) -> bool:
    """Whether the event's object is the operator's own last write (once its answer is in)."""
    await own.settled(kind, body)
    return own.is_own(kind, body)


def build_registry(
    reconciler: Reconciler,
    queue: WorkQueue,
    selector: Mapping[str, str],
    own_writes: OwnWrites | None = None,
) -> kopf.OperatorRegistry:
    """The operator's handlers, restricted to enrollments (and children) matching ``selector``.

    ``own_writes`` is where the operator's adapter records its writes; their events cause no
    work. An enrollment being deleted gets one finalizer run when its deletion is first seen
    and one when its namespace is gone: its own status writes and its children's deletions
    while the namespace empties call for nothing (``terminating``).
    """
    registry = kopf.OperatorRegistry()
    selected = dict(selector)
    own = own_writes if own_writes is not None else OwnWrites()
    terminating: set[str] = set()
    known: set[str] = set()
    refreshes = DelayedRefreshes(lambda name: queue.request(name, full=False))

    def refresh(enrollment: str, deployment: Mapping[str, Any]) -> None:
        """A status refresh for a Deployment's readiness change: now when the tool's readiness
        flips against the enrollment's status, a little later when only its message changed."""
        metadata = deployment["metadata"]
        seen = own.readiness("Deployment", metadata.get("namespace", ""), metadata["name"])
        status = (reconciler.enrollments.get(enrollment) or {}).get("status")
        ready = seen is not None and seen[0]
        refreshes.request(enrollment, refresh_delay(status, metadata["name"], ready))

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.networking.error_backoffs = [1, 2, 5, 10, 20]
        for resource, label_selector in watch_label_selectors(selected).items():
            settings.watching.label_selectors[resource] = label_selector

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    @kopf.on.cleanup(registry=registry)
    async def stop(**_: Any) -> None:
        await queue.close()

    @kopf.on.event(
        labels.GROUP, labels.VERSION, labels.ENROLLMENT_PLURAL, labels=selected, registry=registry
    )
    async def on_enrollment(event: Mapping[str, Any], body: Mapping[str, Any], **_: Any) -> None:
        name = body["metadata"]["name"]
        if event.get("type") == "DELETED":
            reconciler.forget(name)
            refreshes.forget(name)
            queue.forget(name)
            ENROLLMENT_PHASES.forget(name)
            terminating.discard(name)
            known.discard(name)
            own.forget("StudentEnrollment", body)
            return
        reconciler.enrollments.put(body)
        if body["metadata"].get("deletionTimestamp"):
            if name not in terminating:
                terminating.add(name)
                queue.request(name)
        elif event.get("type") is not None and await _own("StudentEnrollment", body, own):
            return
        elif enrollment_needs_work(event.get("type"), body, name in known):
            log.debug("%s event of enrollment %s: full reconcile", event.get("type"), name)
            known.add(name)
            queue.request(name)

    @kopf.on.event(labels.GROUP, labels.VERSION, labels.TRACK_PLURAL, registry=registry)
    async def on_track(event: Mapping[str, Any], body: Mapping[str, Any], **_: Any) -> None:
        track = body["metadata"]["name"]
        if event.get("type") == "DELETED":
            reconciler.tracks.forget(track)
        else:
            reconciler.tracks.put(body)
        if event.get("type") is None:
            return
        for enrollment in await reconciler.kube.list("StudentEnrollment", selector=selected):
            wanted = enrollment.get("spec", {}).get("track", "")
            if labels.track_resource_name(wanted) == track:
                queue.request(enrollment["metadata"]["name"])

    for kind in CHILD_KINDS:
        group, version, plural = child_resource(kind)
        _register_child(
            registry, queue, kind, group, version, plural, selected, own, terminating, refresh
        )
    return registry


def _register_child(
    registry: kopf.OperatorRegistry,
    queue: WorkQueue,
    kind: str,
    group: str,
    version: str,
    plural: str,
    selector: dict[str, str],
    own: OwnWrites,
    terminating: set[str],
    refresh: Callable[[str, Mapping[str, Any]], None],
) -> None:
    filters: dict[str, Any] = {**selector, labels.ENROLLMENT: kopf.PRESENT}

    async def on_child(event: Mapping[str, Any], body: Mapping[str, Any], **_: Any) -> None:
        enrollment = body["metadata"]["labels"][labels.ENROLLMENT]
        event_type = event.get("type")
        if event_type == "DELETED":
            own.forget(kind, body)
        if enrollment in terminating:
            if kind == "Namespace" and event_type == "DELETED":
                queue.request(enrollment)
            return
        mine = event_type == "MODIFIED" and await _own(kind, body, own)
        full = child_work(kind, event_type, body, mine, own.applied_generation(kind, body))
        if full is False and not own.readiness_changed(kind, body):
            return  # a Deployment status change that changes nothing the enrollment shows
        if full is not None:
            log.debug(
                "%s event of %s %s/%s (v%s): %s of %s",
                event_type,
                kind,
                body["metadata"].get("namespace", ""),
                body["metadata"]["name"],
                body["metadata"].get("resourceVersion"),
                "full reconcile" if full else "refresh",
                enrollment,
            )
            if full:
                queue.request(enrollment)
            else:
                refresh(enrollment, body)

    kopf.on.event(group, version, plural, labels=filters, registry=registry, id=f"child-{plural}")(
        on_child
    )
