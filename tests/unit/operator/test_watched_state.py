"""What the watches already delivered replaces reads: enrollment and track bodies kept from their
events, Deployment readiness from its events, and status refreshes coalesced.

A real :class:`Reconciler` against the in-memory cluster of ``test_revisit``, which counts reads
and refuses a write based on a stale ``resourceVersion`` as kube-apiserver does (409).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

from apranova_operator.kube import KubeError
from apranova_operator.own_writes import OwnWrites
from apranova_operator.reconciler import (
    NAMESPACE_RECHECK,
    NAMESPACE_RECHECK_PER_DELETION,
    Reconciler,
    namespace_recheck,
)
from apranova_operator.settings import OperatorSettings
from apranova_operator.status_refresh import (
    MESSAGE_REFRESH_DELAY,
    DelayedRefreshes,
    refresh_delay,
)
from apranova_operator.watched_bodies import WatchedBodies
from tests.unit.operator.test_revisit import MemoryKube, Recorder, cluster


class VersionedKube(MemoryKube):
    """Counts reads; every write bumps ``resourceVersion``; a stale precondition is a 409."""

    def __init__(self, base: MemoryKube) -> None:
        super().__init__()
        self.objects = base.objects
        self.reads: list[tuple[str, str]] = []

    async def get(self, kind: str, name: str, namespace: str | None = None) -> Any:
        self.reads.append(("GET", kind))
        return await super().get(kind, name, namespace)

    async def list(self, kind: str, namespace: str | None = None, selector: Any = None) -> Any:
        self.reads.append(("LIST", kind))
        return await super().list(kind, namespace, selector)

    async def merge_patch(
        self, kind: str, name: str, patch: Mapping[str, Any], subresource: str = ""
    ) -> dict[str, Any]:
        stored = self.objects[(kind, None, name)]["metadata"]
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted is not None and wanted != stored["resourceVersion"]:
            raise KubeError(409, "Conflict", "the object has been modified")
        written = await super().merge_patch(kind, name, patch, subresource)
        stored["resourceVersion"] = str(int(stored["resourceVersion"]) + 1)
        written["metadata"]["resourceVersion"] = stored["resourceVersion"]
        return written


def _reconciler() -> tuple[Reconciler, VersionedKube, OwnWrites]:
    kube = VersionedKube(cluster())
    own = OwnWrites()
    settings = OperatorSettings(_env_file=None)  # type: ignore[call-arg]
    return Reconciler(kube, settings, Recorder(), [], own), kube, own  # type: ignore[arg-type]


def _note_deployments(kube: MemoryKube, own: OwnWrites, available: int) -> None:
    for (kind, _, _), body in kube.objects.items():
        if kind == "Deployment":
            seen = copy.deepcopy(body)
            seen["metadata"]["resourceVersion"] = "99"
            seen["status"]["availableReplicas"] = available
            own.note(seen)


def test_bodies_are_kept_without_managed_fields_and_never_replaced_by_older_ones() -> None:
    bodies = WatchedBodies()
    body = {"metadata": {"name": "ada", "resourceVersion": "7", "managedFields": [{}]}}
    bodies.put({**body, "spec": {"track": "DP"}})
    assert bodies.get("ada") == {
        "metadata": {"name": "ada", "resourceVersion": "7"},
        "spec": {"track": "DP"},
    }
    bodies.put({"metadata": {"name": "ada", "resourceVersion": "6"}, "spec": {}})
    assert bodies.get("ada")["spec"] == {"track": "DP"}  # type: ignore[index]
    bodies.put({"metadata": {"name": "ada", "resourceVersion": "8"}, "spec": {}})
    assert bodies.get("ada")["spec"] == {}  # type: ignore[index]
    bodies.get("ada")["spec"]["x"] = 1  # type: ignore[index]
    assert bodies.get("ada")["spec"] == {}  # type: ignore[index]
    bodies.forget("ada")
    assert bodies.get("ada") is None and len(bodies) == 0


def test_readiness_flips_refresh_now_and_message_changes_wait() -> None:
    status = {"tools": [{"name": "code", "ready": False}, {"name": "db", "ready": True}]}
    assert refresh_delay(status, "code", True) == 0
    assert refresh_delay(status, "code", False) == MESSAGE_REFRESH_DELAY
    assert refresh_delay(status, "db", False) == 0
    assert refresh_delay(None, "code", False) == MESSAGE_REFRESH_DELAY
    assert refresh_delay({}, "code", True) == 0


def test_delayed_refreshes_coalesce_and_a_refresh_now_replaces_them() -> None:
    async def scenario() -> tuple[list[str], int]:
        done: list[str] = []
        refreshes = DelayedRefreshes(done.append)
        refreshes.request("ada", 0.05)
        refreshes.request("ada", 0.05)
        refreshes.request("bob", 0.05)
        refreshes.request("bob", 0)
        pending = len(refreshes)
        await asyncio.sleep(0.1)
        return done, pending

    done, pending = asyncio.run(scenario())
    assert pending == 1
    assert done == ["bob", "ada"]


def test_a_refresh_reads_nothing_when_the_watches_delivered_everything() -> None:
    reconciler, kube, own = _reconciler()

    async def scenario() -> None:
        await reconciler.work("ada", True)
        _note_deployments(kube, own, available=0)
        kube.reads.clear()
        await reconciler.work("ada", False)

    asyncio.run(scenario())
    assert kube.reads == []
    status = kube.objects[("StudentEnrollment", None, "ada")]["status"]
    assert status["tools"] and not any(tool["ready"] for tool in status["tools"])
    assert status["phase"] != "Ready"


def test_a_stale_body_ends_in_a_conflict_and_a_fresh_read_not_an_overwrite() -> None:
    reconciler, kube, own = _reconciler()

    async def scenario() -> None:
        await reconciler.work("ada", True)
        # Someone else writes the enrollment; its event has not arrived yet.
        stored = kube.objects[("StudentEnrollment", None, "ada")]
        stored["metadata"]["annotations"] = {"note": "by the API"}
        stored["metadata"]["resourceVersion"] = str(int(stored["metadata"]["resourceVersion"]) + 1)
        _note_deployments(kube, own, available=0)
        kube.reads.clear()
        await reconciler.work("ada", False)

    asyncio.run(scenario())
    assert kube.reads == [("GET", "StudentEnrollment")]
    stored = kube.objects[("StudentEnrollment", None, "ada")]
    assert stored["metadata"]["annotations"] == {"note": "by the API"}
    assert not any(tool["ready"] for tool in stored["status"]["tools"])


def test_the_namespace_safety_net_waits_longer_in_a_mass_deletion() -> None:
    assert namespace_recheck(1) == NAMESPACE_RECHECK
    assert namespace_recheck(1000) == 1000 * NAMESPACE_RECHECK_PER_DELETION > NAMESPACE_RECHECK
