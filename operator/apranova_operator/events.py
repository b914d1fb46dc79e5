"""Kubernetes Events on an enrollment, so ``kubectl describe se <name>`` tells its story."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Mapping
from typing import Any

from apranova_contract import labels
from apranova_operator.clock import now_iso
from apranova_operator.kube import Kube, KubeError

EVENT_NAMESPACE = "default"
"""Events of cluster-scoped objects live in ``default``; ``kubectl describe`` finds them there."""

log = logging.getLogger(__name__)


def event_body(
    involved: Mapping[str, Any], type_: str, reason: str, message: str, now: str, instance: str
) -> dict[str, Any]:
    """A core/v1 Event about ``involved`` (an enrollment's apiVersion, kind, name and uid)."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{involved['name']}.", "namespace": EVENT_NAMESPACE},
        "involvedObject": dict(involved),
        "type": type_,
        "reason": reason,
        "message": message[:1024],
        "source": {"component": labels.FIELD_MANAGER},
        "reportingComponent": labels.FIELD_MANAGER,
        "reportingInstance": instance,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class EventRecorder:
    """Posts Events in the background; a failure to post is logged, never raised."""

    def __init__(self, kube: Kube) -> None:
        self._kube = kube
        self._instance = socket.gethostname()
        self._pending: set[asyncio.Task[None]] = set()

    def for_enrollment(self, body: Mapping[str, Any]) -> EnrollmentEvents:
        metadata = body["metadata"]
        return EnrollmentEvents(
            self,
            {
                "apiVersion": body.get("apiVersion", f"{labels.GROUP}/{labels.VERSION}"),
                "kind": "StudentEnrollment",
                "name": metadata["name"],
                "uid": metadata.get("uid", ""),
            },
        )

    def post(self, involved: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        body = event_body(involved, type_, reason, message, now_iso(), self._instance)
        log.info("event %s %s: %s", reason, involved["name"], message)
        task = asyncio.get_running_loop().create_task(self._create(body))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _create(self, body: dict[str, Any]) -> None:
        try:
            await self._kube.create(body)
        except (KubeError, OSError) as error:
            log.warning("could not post event %s: %s", body["reason"], error)


class EnrollmentEvents:
    """The step contract's ``RecordEvent``, bound to one enrollment."""

    def __init__(self, recorder: EventRecorder, involved: dict[str, Any]) -> None:
        self._recorder = recorder
        self._involved = involved

    def __call__(self, type_: str, reason: str, message: str) -> None:
        self._recorder.post(self._involved, type_, reason, message)
