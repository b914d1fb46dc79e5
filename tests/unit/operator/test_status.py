from __future__ import annotations

from apranova_contract.status import NAMESPACE_READY, READY, TOOLS_READY
from apranova_operator.render.status import (
    Check,
    compose_status,
    deployment_readiness,
    phase,
    set_condition,
    status_changes,
    tools_check,
    transitions,
)

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"


def _types(conditions: list[dict]) -> list[str]:
    return [c["type"] for c in conditions]


def test_condition_is_updated_in_place_never_appended_twice() -> None:
    conditions = set_condition([], Check(READY, False, "Waiting"), 1, T0)
    conditions = set_condition(conditions, Check(TOOLS_READY, False, "Waiting"), 1, T0)
    conditions = set_condition(conditions, Check(READY, False, "StillWaiting", "m"), 2, T1)
    assert _types(conditions) == [READY, TOOLS_READY]
    ready = conditions[0]
    assert ready["reason"] == "StillWaiting"
    assert ready["observedGeneration"] == 2
    assert ready["lastTransitionTime"] == T0, "same status: the transition time is kept"
    conditions = set_condition(conditions, Check(READY, True, "AllComponentsReady"), 2, T1)
    assert conditions[0]["status"] == "True"
    assert conditions[0]["lastTransitionTime"] == T1


def test_deployment_readiness() -> None:
    def deployment(generation: int, observed: int, replicas: int, available: int) -> dict:
        return {
            "metadata": {"generation": generation},
            "spec": {"replicas": replicas},
            "status": {
                "observedGeneration": observed,
                "updatedReplicas": available,
                "availableReplicas": available,
            },
        }

    assert deployment_readiness(None) == (False, "Deployment not created yet")
    assert deployment_readiness(deployment(2, 2, 1, 1)) == (True, "")
    assert not deployment_readiness(deployment(3, 2, 1, 1))[0]
    assert not deployment_readiness(deployment(2, 2, 1, 0))[0]
    assert deployment_readiness(deployment(2, 2, 0, 0)) == (False, "scaled to zero")


def _tools(ready: bool) -> list[dict]:
    return [
        {"name": "jupyter", "url": "https://j", "ready": ready, "message": "" if ready else "w"}
    ]


def _checks(tools_ready: bool, *extra: Check) -> list[Check]:
    return [
        Check(NAMESPACE_READY, True, "NamespaceProvisioned"),
        tools_check(_tools(tools_ready), suspended=False),
        *extra,
    ]


def test_first_provisioning_then_ready_then_degraded() -> None:
    first = compose_status(
        {},
        generation=1,
        namespace="student-ada",
        checks=_checks(False),
        now=T0,
        tools=_tools(False),
    )
    assert first["phase"] == "Provisioning"
    assert first["provisioningStartedAt"] == T0
    assert "readyAt" not in first
    ready_conditions = [c for c in first["conditions"] if c["type"] == READY]
    assert ready_conditions[0]["status"] == "False"
    assert ready_conditions[0]["reason"] == "ToolsNotAvailable"

    ready = compose_status(
        first,
        generation=1,
        namespace="student-ada",
        checks=_checks(True),
        now=T1,
        tools=_tools(True),
    )
    assert ready["phase"] == "Ready"
    assert ready["readyAt"] == T1
    assert ready["provisioningStartedAt"] == T0
    assert _types(ready["conditions"]) == [NAMESPACE_READY, TOOLS_READY, READY]

    later = compose_status(
        ready,
        generation=2,
        namespace="student-ada",
        checks=_checks(True, Check("DatabaseReady", False, "Unreachable")),
        now=T1,
        tools=_tools(True),
    )
    assert later["phase"] == "Degraded"
    assert later["readyAt"] == T1
    assert later["observedGeneration"] == 2


def test_step_conditions_count_for_ready_and_are_dropped_when_no_longer_applicable() -> None:
    status = compose_status(
        {},
        generation=1,
        namespace="n",
        now=T0,
        checks=_checks(True, Check("DatabaseReady", False, "Provisioning")),
    )
    assert status["phase"] == "Provisioning"
    assert "DatabaseReady" in _types(status["conditions"])
    status = compose_status(
        status,
        generation=2,
        namespace="n",
        now=T1,
        checks=_checks(True),
        drop_condition_types={"DatabaseReady"},
    )
    assert "DatabaseReady" not in _types(status["conditions"])
    assert status["phase"] == "Ready"


def test_suspended_waiting_failed_and_terminating_phases() -> None:
    suspended = compose_status(
        {},
        generation=1,
        namespace="n",
        now=T0,
        suspended=True,
        suspension_reason="refund",
        checks=_checks(True),
    )
    assert suspended["phase"] == "Suspended"
    ready = next(c for c in suspended["conditions"] if c["type"] == READY)
    assert (ready["reason"], ready["message"]) == ("Suspended", "refund")
    pending = compose_status(
        {},
        generation=1,
        namespace="n",
        now=T0,
        waiting_for_track=True,
        checks=[Check(NAMESPACE_READY, False, "TrackNotFound", "no")],
    )
    assert pending["phase"] == "Pending"
    assert next(c for c in pending["conditions"] if c["type"] == READY)["reason"] == (
        "TrackNotFound"
    )
    assert (
        phase(
            [],
            deleting=False,
            suspended=False,
            waiting_for_track=False,
            failed=True,
            was_ready=True,
        )
        == "Failed"
    )
    assert (
        phase(
            [], deleting=True, suspended=True, waiting_for_track=True, failed=True, was_ready=True
        )
        == "Terminating"
    )


def test_status_changes_and_transitions() -> None:
    first = compose_status({}, generation=1, namespace="n", now=T0, checks=_checks(False))
    again = compose_status(first, generation=1, namespace="n", now=T1, checks=_checks(False))
    assert status_changes(first, again) == {}, "nothing changed: nothing to write"
    ready = compose_status(first, generation=1, namespace="n", now=T1, checks=_checks(True))
    assert set(status_changes(first, ready)) >= {"phase", "conditions", "readyAt"}
    changed = {c["type"] for c in transitions(first["conditions"], ready["conditions"])}
    assert changed == {TOOLS_READY, READY}


def test_replica_failure_is_the_tool_message() -> None:
    deployment = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {"type": "ReplicaFailure", "status": "True", "message": "exceeded quota: cpu"}
            ],
        },
    }
    assert deployment_readiness(deployment) == (False, "cannot create pods: exceeded quota: cpu")
