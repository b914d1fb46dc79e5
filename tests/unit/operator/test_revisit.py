""" "Come back later" is not "failed": the reconciler and the work queue together.

A real :class:`Reconciler` and :class:`WorkQueue` run against an in-memory cluster (the
enrollment, its track and whatever the reconciler applies); one provisioning step is a stand-in
that answers what each test needs.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

from apranova_contract import labels
from apranova_contract.status import PHASE_READY
from apranova_operator.metrics import RECONCILE_ERRORS
from apranova_operator.outcome import DONE, ReconcileResult, failed, revisit, soonest
from apranova_operator.reconciler import Reconciler
from apranova_operator.settings import OperatorSettings
from apranova_operator.step_registry import RegisteredStep
from apranova_operator.steps import StepContext, StepResult
from apranova_operator.workqueue import WorkQueue
from tests.unit.operator.conftest import enrollment, load_track

DAY = 86400.0
Key = tuple[str, str | None, str]


class MemoryKube:
    """Objects by (kind, namespace, name); applied Deployments report themselves available."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        for body in objects:
            self._store(body)

    def _store(self, body: dict[str, Any]) -> dict[str, Any]:
        metadata = body["metadata"]
        self.objects[(body["kind"], metadata.get("namespace"), metadata["name"])] = body
        return copy.deepcopy(body)

    async def get(
        self, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        found = self.objects.get((kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    async def list(
        self, kind: str, namespace: str | None = None, selector: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        wanted = dict(selector or {})
        return [
            copy.deepcopy(body)
            for (found_kind, found_namespace, _), body in self.objects.items()
            if found_kind == kind
            and (namespace is None or found_namespace == namespace)
            and wanted.items() <= (body["metadata"].get("labels") or {}).items()
        ]

    async def apply(self, body: Mapping[str, Any]) -> dict[str, Any]:
        stored = copy.deepcopy(dict(body))
        stored["metadata"].setdefault("generation", 1)
        if stored["kind"] == "Deployment":
            replicas = stored["spec"].get("replicas", 1)
            stored["status"] = {
                "observedGeneration": 1,
                "updatedReplicas": replicas,
                "availableReplicas": replicas,
            }
        return self._store(stored)

    async def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(body))

    async def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        return self.objects.pop((kind, namespace, name), None) is not None

    async def merge_patch(
        self, kind: str, name: str, patch: Mapping[str, Any], subresource: str = ""
    ) -> dict[str, Any]:
        body = self.objects[(kind, None, name)]
        _merge(body, patch)
        return copy.deepcopy(body)


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """JSON merge patch (RFC 7386): ``None`` deletes, objects merge, the rest replaces."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def for_enrollment(self, body: Mapping[str, Any]) -> Any:
        return lambda type_, reason, message: self.events.append((type_, reason, message))


def stand_in_step(answers: list[StepResult]) -> tuple[RegisteredStep, list[StepContext]]:
    """A step that answers ``answers`` in turn (the last one again when they run out)."""
    seen: list[StepContext] = []

    async def reconcile(ctx: StepContext) -> StepResult:
        seen.append(ctx)
        return answers[min(len(seen), len(answers)) - 1]

    async def cleanup(ctx: StepContext) -> None:
        return None

    step = RegisteredStep(
        name="invite",
        condition_type="IntegrationsReady",
        applies=lambda track_spec: True,
        reconcile=reconcile,
        cleanup=cleanup,
    )
    return step, seen


def cluster() -> MemoryKube:
    body = enrollment("ada", "DP")
    body["metadata"].update(finalizers=[labels.FINALIZER], resourceVersion="1")
    track = {"kind": "Track", "metadata": {"name": "dp"}, "spec": load_track("dp")}
    return MemoryKube(body, track)


def errors_counted() -> float:
    return sum(
        sample.value
        for metric in RECONCILE_ERRORS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


def queue_for(reconciler: Reconciler, base: float, maximum: float) -> tuple[WorkQueue, list[bool]]:
    """A work queue over ``reconciler``, and the list of its finished runs (``full`` of each)."""
    finished: list[bool] = []

    async def work(name: str, full: bool) -> ReconcileResult:
        try:
            return await reconciler.work(name, full)
        finally:
            finished.append(full)

    return WorkQueue(work, reconciler.report_failure, 2, base, maximum), finished


async def settle(finished: list[bool], count: int) -> None:
    """Let the queue work until ``count`` full reconciles have finished (and been scheduled)."""
    for _ in range(500):
        await asyncio.sleep(0.01)
        if finished.count(True) >= count:
            return
    raise AssertionError(f"{finished.count(True)} full reconciles finished, expected {count}")


def test_a_ready_enrollment_asking_for_a_revisit_in_a_day_waits_a_day_and_counts_no_error() -> None:
    kube = cluster()
    ready = StepResult("IntegrationsReady", True, "Provisioned", revisit_after=DAY)
    step, runs = stand_in_step([ready])
    reconciler = Reconciler(kube, OperatorSettings(_env_file=None), Recorder(), [step])  # type: ignore[arg-type]
    before = errors_counted()

    async def scenario() -> tuple[float | None, int, int]:
        queue, finished = queue_for(reconciler, 0.01, 0.05)
        queue.request("ada")
        await settle(finished, 1)
        for _ in range(3):  # a second reconcile (its own status write) is no failure either
            queue.request("ada", full=False)
        await asyncio.sleep(0.3)
        scheduled, failures = queue.scheduled_delay("ada"), queue.failures("ada")
        await queue.close()
        return scheduled, failures, len(runs)

    scheduled, failures, run_count = asyncio.run(scenario())
    status = kube.objects[("StudentEnrollment", None, "ada")]["status"]
    assert status["phase"] == PHASE_READY
    assert run_count == 1, "no full reconcile before the revisit is due"
    assert scheduled == DAY
    assert failures == 0
    assert errors_counted() == before


def test_a_failing_step_still_backs_off_and_counts_errors() -> None:
    kube = cluster()
    failing = StepResult("IntegrationsReady", False, "DiscordUnavailable", "down")
    step, runs = stand_in_step([failing])
    reconciler = Reconciler(kube, OperatorSettings(_env_file=None), Recorder(), [step])  # type: ignore[arg-type]
    before = errors_counted()

    async def scenario() -> list[tuple[float | None, int]]:
        queue, finished = queue_for(reconciler, 100.0, 1000.0)
        observed = []
        for attempt in range(1, 4):  # each request stands for the timer firing
            queue.request("ada")
            await settle(finished, attempt)
            observed.append((queue.scheduled_delay("ada"), queue.failures("ada")))
        await queue.close()
        return observed

    observed = asyncio.run(scenario())
    assert len(runs) == 3
    assert [failures for _, failures in observed] == [1, 2, 3]
    assert [delay for delay, _ in observed] == [100.0, 200.0, 400.0]
    assert errors_counted() == before + 3


def test_a_step_with_its_own_backoff_is_not_doubled_by_the_queue() -> None:
    own = StepResult("DatabaseReady", False, "DatabaseUnavailable", retry_after=40.0)
    assert own.outcome() == failed("DatabaseUnavailable", 40.0)
    assert soonest([own.outcome(), revisit(DAY)]) == failed("DatabaseUnavailable", 40.0)
    assert soonest([revisit(DAY), revisit(60.0), DONE]) == revisit(60.0)
    assert soonest([DONE, DONE]) == DONE
