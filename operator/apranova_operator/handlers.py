"""Kopf handlers: watch enrollments, tracks and children, and feed the work queue.

Kopf is used for what it is good at (watch streams, reconnects, liveness); the handlers only
decide *which* enrollment needs work and *how much* (a full reconcile or a status refresh). All
reconciling happens in :class:`~apranova_operator.reconciler.Reconciler` through a
:class:`~apranova_operator.workqueue.WorkQueue`. No handler polls on a timer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf

from apranova_contract import labels
from apranova_operator.kube import CHILD_KINDS, RESOURCES
from apranova_operator.metrics import ENROLLMENT_PHASES
from apranova_operator.reconciler import Reconciler
from apranova_operator.workqueue import WorkQueue

log = logging.getLogger(__name__)


def enrollment_needs_work(event_type: str | None, body: Mapping[str, Any]) -> bool:
    """Whether an enrollment's watch event calls for a full reconcile.

    The initial listing and additions always do; afterwards only a new spec generation, a
    deletion or a missing finalizer do, so the operator's own status writes cause no work.
    """
    if event_type in (None, "ADDED"):
        return True
    metadata = body.get("metadata", {})
    status = body.get("status") or {}
    return bool(
        metadata.get("deletionTimestamp")
        or metadata.get("generation") != status.get("observedGeneration")
        or labels.FINALIZER not in (metadata.get("finalizers") or [])
    )


def child_work(kind: str, event_type: str | None, body: Mapping[str, Any]) -> bool | None:
    """For a child's watch event: ``True`` full reconcile, ``False`` status refresh, ``None``
    nothing. The initial listing and additions (the operator's own creations) need nothing;
    deletions and edits are drift to repair; a Deployment whose status changed only
    needs its tool's readiness refreshed; status churn of quotas and claims is ignored."""
    if event_type in (None, "ADDED"):
        return None
    if event_type == "DELETED":
        return True
    metadata = body.get("metadata", {})
    status = body.get("status") or {}
    if kind == "Deployment":
        return metadata.get("generation") != status.get("observedGeneration")
    if kind == "ResourceQuota":
        return (body.get("spec") or {}).get("hard") != status.get("hard") or None
    if kind == "PersistentVolumeClaim":
        return None
    return True


def build_registry(
    reconciler: Reconciler, queue: WorkQueue, selector: Mapping[str, str]
) -> kopf.OperatorRegistry:
    """The operator's handlers, restricted to enrollments (and children) matching ``selector``."""
    registry = kopf.OperatorRegistry()
    selected = dict(selector)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.networking.error_backoffs = [1, 2, 5, 10, 20]

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
            queue.forget(name)
            ENROLLMENT_PHASES.forget(name)
        elif enrollment_needs_work(event.get("type"), body):
            queue.request(name)

    @kopf.on.event(labels.GROUP, labels.VERSION, labels.TRACK_PLURAL, registry=registry)
    async def on_track(event: Mapping[str, Any], body: Mapping[str, Any], **_: Any) -> None:
        if event.get("type") is None:
            return
        track = body["metadata"]["name"]
        for enrollment in await reconciler.kube.list("StudentEnrollment", selector=selected):
            wanted = enrollment.get("spec", {}).get("track", "")
            if labels.track_resource_name(wanted) == track:
                queue.request(enrollment["metadata"]["name"])

    for kind in CHILD_KINDS:
        resource = RESOURCES[kind]
        _register_child(
            registry, queue, kind, resource.group, resource.version, resource.plural, selected
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
) -> None:
    filters: dict[str, Any] = {**selector, labels.ENROLLMENT: kopf.PRESENT}

    async def on_child(event: Mapping[str, Any], body: Mapping[str, Any], **_: Any) -> None:
        full = child_work(kind, event.get("type"), body)
        if full is not None:
            queue.request(body["metadata"]["labels"][labels.ENROLLMENT], full=full)

    kopf.on.event(group, version, plural, labels=filters, registry=registry, id=f"child-{plural}")(
        on_child
    )
