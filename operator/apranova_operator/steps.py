"""The contract between the enrollment handlers and the optional provisioning steps.

The namespace and tools are the operator's core. Other parts of a student's environment (the
PostgreSQL schema, the Discord invite, the GitHub repository) are *steps*: each one is reconciled
with a :class:`StepContext` and answers a :class:`StepResult`, which the handlers turn into a
condition and a piece of ``status``. A step never raises for an expected failure (an outage, bad
credentials): it answers ``ready=False`` with a reason and a ``retry_after``, so one failing step
never blocks the rest of the environment. A step keeps its own backoff state in the status it
returns (``status_patch``), so it survives a restart; a ready step that wants another look later
(an invite to renew) answers ``revisit_after``, which is not a failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from apranova_operator.outcome import DONE, ReconcileResult, failed, revisit
from apranova_operator.render.status import Check


class SecretStore(Protocol):
    """Reads and writes Secrets in the student's namespace (a thin Kubernetes adapter)."""

    async def read(self, namespace: str, name: str) -> dict[str, str] | None:
        """The decoded ``data`` of a Secret, or ``None`` when it does not exist."""

    async def write(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        """Create or replace a Secret (owned by the operator's field manager)."""


class RecordEvent(Protocol):
    """Records a Kubernetes Event on the enrollment."""

    def __call__(self, type_: str, reason: str, message: str) -> None: ...


@dataclass(frozen=True)
class StepContext:
    """Everything a step may look at. Plain data plus two narrow adapters."""

    enrollment_name: str
    enrollment_uid: str
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    track_name: str
    track_spec: Mapping[str, Any]
    namespace: str
    secrets: SecretStore
    record_event: RecordEvent


@dataclass(frozen=True)
class StepResult(Check):
    """What a step answers: its condition (a :class:`Check`), a status fragment and when to
    look again."""

    status_patch: Mapping[str, Any] = field(default_factory=dict)
    retry_after: float | None = None
    """Only when not ready: seconds until the next attempt (the step's own backoff); None: the
    work queue's backoff."""
    revisit_after: float | None = None
    """Only when ready: seconds after which the step wants to run again (not a failure)."""

    def outcome(self) -> ReconcileResult:
        """This answer as a reconcile result: a failure, a revisit or done."""
        if not self.ready:
            return failed(self.reason, self.retry_after)
        return revisit(self.revisit_after) if self.revisit_after is not None else DONE


ReconcileStep = Callable[[StepContext], Awaitable[StepResult]]
CleanupStep = Callable[[StepContext], Awaitable[None]]
