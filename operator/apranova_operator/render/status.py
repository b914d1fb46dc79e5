"""The enrollment's status, computed from what was observed: conditions, phase and tools.

Conditions follow the Kubernetes API conventions: one entry per type, updated in place, with a
``lastTransitionTime`` that changes only when the condition's status changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apranova_contract.status import (
    DEGRADED,
    FAILED,
    PENDING,
    PHASE_READY,
    PROVISIONING,
    READY,
    SUSPENDED,
    TERMINATING,
    TOOLS_READY,
)


@dataclass(frozen=True)
class Check:
    """One component's verdict, turned into a condition of type ``type``."""

    type: str
    ready: bool
    reason: str
    message: str = ""


def set_condition(
    conditions: Sequence[Mapping[str, Any]], check: Check, generation: int, now: str
) -> list[dict[str, Any]]:
    """``conditions`` with the condition of ``check.type`` replaced in place (or appended once)."""
    status = "True" if check.ready else "False"
    updated: list[dict[str, Any]] = []
    found = False
    for condition in conditions:
        if condition.get("type") != check.type:
            updated.append(dict(condition))
            continue
        found = True
        transition = (
            condition.get("lastTransitionTime") if condition.get("status") == status else None
        )
        updated.append(_condition(check, status, generation, transition or now))
    if not found:
        updated.append(_condition(check, status, generation, now))
    return updated


def _condition(check: Check, status: str, generation: int, transition: str) -> dict[str, Any]:
    return {
        "type": check.type,
        "status": status,
        "reason": check.reason,
        "message": check.message,
        "observedGeneration": generation,
        "lastTransitionTime": transition,
    }


def remove_conditions(
    conditions: Sequence[Mapping[str, Any]], types: Iterable[str]
) -> list[dict[str, Any]]:
    """``conditions`` without the given types (steps that no longer apply to the track)."""
    dropped = set(types)
    return [dict(c) for c in conditions if c.get("type") not in dropped]


def deployment_readiness(deployment: Mapping[str, Any] | None) -> tuple[bool, str]:
    """Whether a tool's Deployment is available with its current spec, and why not."""
    if deployment is None:
        return False, "Deployment not created yet"
    spec, status = deployment.get("spec", {}), deployment.get("status") or {}
    generation = deployment.get("metadata", {}).get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return False, "Deployment update not observed yet"
    wanted = spec.get("replicas", 1)
    if wanted == 0:
        return False, "scaled to zero"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            return False, f"cannot create pods: {condition.get('message', '')}"
    if status.get("updatedReplicas", 0) < wanted:
        return False, "rolling out"
    if status.get("availableReplicas", 0) < wanted:
        return False, "waiting for the tool to pass its readiness probe"
    return True, ""


def ready_check(checks: Sequence[Check], suspended: bool, suspension_reason: str) -> Check:
    """The ``Ready`` condition: true only when every other check is."""
    if suspended:
        return Check(READY, False, "Suspended", suspension_reason or "the enrollment is suspended")
    failing = [check for check in checks if not check.ready]
    if not failing:
        return Check(READY, True, "AllComponentsReady")
    first = failing[0]
    message = "; ".join(f"{c.type}: {c.message or c.reason}" for c in failing)
    return Check(READY, False, first.reason, message)


def phase(
    checks: Sequence[Check],
    *,
    deleting: bool,
    suspended: bool,
    waiting_for_track: bool,
    failed: bool,
    was_ready: bool,
) -> str:
    """The one-word summary shown by ``kubectl get se``."""
    if deleting:
        return TERMINATING
    if waiting_for_track:
        return PENDING
    if failed:
        return FAILED
    if suspended:
        return SUSPENDED
    if all(check.ready for check in checks):
        return PHASE_READY
    return DEGRADED if was_ready else PROVISIONING


def tools_check(tools: Sequence[Mapping[str, Any]], suspended: bool) -> Check:
    """``ToolsReady`` from each tool's status entry."""
    if suspended:
        return Check(TOOLS_READY, False, "Suspended", "tools are scaled to zero")
    waiting = [tool for tool in tools if not tool.get("ready")]
    if not waiting:
        return Check(TOOLS_READY, True, "AllToolsAvailable")
    return Check(
        TOOLS_READY,
        False,
        "ToolsNotAvailable",
        ", ".join(f"{tool['name']}: {tool.get('message', '')}" for tool in waiting),
    )


def compose_status(
    current: Mapping[str, Any],
    *,
    generation: int,
    namespace: str,
    checks: Sequence[Check],
    now: str,
    tools: Sequence[Mapping[str, Any]] | None = None,
    deleting: bool = False,
    suspended: bool = False,
    suspension_reason: str = "",
    waiting_for_track: bool = False,
    failed: bool = False,
    drop_condition_types: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The enrollment's new status from the current one and this reconcile's checks."""
    conditions = remove_conditions(current.get("conditions") or [], drop_condition_types)
    for check in checks:
        conditions = set_condition(conditions, check, generation, now)
    ready = (
        Check(READY, False, "Terminating", "the environment is being deleted")
        if deleting
        else ready_check(checks, suspended, suspension_reason)
    )
    conditions = set_condition(conditions, ready, generation, now)
    current_phase = phase(
        checks,
        deleting=deleting,
        suspended=suspended,
        waiting_for_track=waiting_for_track,
        failed=failed,
        was_ready=bool(current.get("readyAt")),
    )
    status: dict[str, Any] = {
        **(extra or {}),
        "phase": current_phase,
        "observedGeneration": generation,
        "namespace": namespace,
        "conditions": conditions,
        "provisioningStartedAt": current.get("provisioningStartedAt") or now,
    }
    if tools is not None:
        status["tools"] = [dict(tool) for tool in tools]
    ready_at = current.get("readyAt") or (now if current_phase == PHASE_READY else None)
    if ready_at:
        status["readyAt"] = ready_at
    return status


def status_changes(current: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level fields of ``new`` that differ from ``current`` (empty: nothing to write).

    A ``None`` inside ``new`` deletes a field in the merge patch, so the stored status never
    holds it: it is compared as absent, else such a field would be written on every reconcile.
    """
    return {key: value for key, value in new.items() if current.get(key) != _without_nulls(value)}


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def transitions(
    old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The conditions of ``new`` whose status differs from ``old`` (or that are new)."""
    before = {c.get("type"): c.get("status") for c in old}
    return [c for c in new if before.get(c.get("type")) != c.get("status")]
