"""What keeps the operator's API traffic down: own writes recognised, server-side watch
selectors, one Event per kind of change."""

from __future__ import annotations

import asyncio

from apranova_contract import labels
from apranova_operator.event_summary import objects_message, transitions_event
from apranova_operator.handlers import child_resource, child_work, watch_label_selectors
from apranova_operator.kube import CHILD_KINDS
from apranova_operator.own_writes import OwnWrites, object_key


def _deployment(version: str, generation: int, observed: int | None = None) -> dict:
    return {
        "kind": "Deployment",
        "metadata": {
            "name": "code",
            "namespace": "student-ada",
            "resourceVersion": version,
            "generation": generation,
        },
        "status": {} if observed is None else {"observedGeneration": observed},
    }


def test_own_writes_are_recognised_by_version_and_forgotten_when_gone() -> None:
    own = OwnWrites()
    own.note(_deployment("10", 1))
    assert own.is_own("Deployment", _deployment("10", 1))
    assert not own.is_own("Deployment", _deployment("11", 1))
    assert not own.is_own("Service", _deployment("10", 1))
    assert own.applied_generation("Deployment", _deployment("11", 1)) == 1
    own.forget("Deployment", _deployment("12", 1))
    assert len(own) == 0 and own.applied_generation("Deployment", _deployment("11", 1)) is None


def test_a_deployment_status_change_matters_only_when_readiness_changes() -> None:
    own = OwnWrites()
    rolling = _deployment("10", 1, observed=1)
    rolling["status"].update(updatedReplicas=1, availableReplicas=0)
    assert own.readiness_changed("Deployment", rolling)
    assert not own.readiness_changed("Deployment", {**rolling, "metadata": rolling["metadata"]})
    available = _deployment("11", 1, observed=1)
    available["status"].update(updatedReplicas=1, availableReplicas=1)
    assert own.readiness_changed("Deployment", available)


def test_a_controller_touching_a_deployment_the_operator_applied_is_not_drift() -> None:
    revision_annotated = _deployment("11", 1)
    assert child_work("Deployment", "MODIFIED", revision_annotated, applied_generation=1) is False
    assert child_work("Deployment", "MODIFIED", revision_annotated) is True
    edited = _deployment("12", 2, observed=1)
    assert child_work("Deployment", "MODIFIED", edited, applied_generation=1) is True
    assert child_work("Service", "MODIFIED", {}, own=True) is None
    assert child_work("Service", "DELETED", {}, own=True) is True


def test_watches_carry_label_selectors_for_the_server() -> None:
    selectors = watch_label_selectors({"apranova.io/test-run": "abc"})
    for kind in CHILD_KINDS:
        assert selectors[child_resource(kind)] == (f"{labels.ENROLLMENT},apranova.io/test-run=abc")
    enrollments = (labels.GROUP, labels.VERSION, labels.ENROLLMENT_PLURAL)
    assert selectors[enrollments] == "apranova.io/test-run=abc"
    assert enrollments not in watch_label_selectors({})
    assert watch_label_selectors({})[("apps", "v1", "deployments")] == labels.ENROLLMENT


def test_one_event_per_kind_of_change() -> None:
    message = objects_message("created", [("Secret", "a"), ("Deployment", "code")])
    assert message == "created 2 objects: Secret a, Deployment code"
    before = [{"type": "Ready", "status": "False"}, {"type": "ToolsReady", "status": "False"}]
    changed = [
        {"type": "ToolsReady", "status": "True", "reason": "ToolsAvailable", "message": ""},
        {"type": "Ready", "status": "True", "reason": "Ready", "message": "all good"},
    ]
    assert transitions_event(before, changed) == (
        "Normal",
        "ReadyTrue",
        "ToolsReady=True (ToolsAvailable); Ready=True (all good)",
    )
    regression = [{"type": "ToolsReady", "status": "False", "reason": "Down"}]
    was_ready = [{"type": "ToolsReady", "status": "True"}]
    assert transitions_event(was_ready, regression) == (
        "Warning",
        "ToolsReadyFalse",
        ("ToolsReady=False (Down)"),
    )
    assert transitions_event(before, []) is None
    starting = [
        {"type": "NamespaceReady", "status": "True", "reason": "NamespaceProvisioned"},
        {"type": "ToolsReady", "status": "False", "reason": "ToolsNotAvailable"},
        {"type": "Ready", "status": "False", "reason": "ToolsNotAvailable"},
    ]
    assert transitions_event([], starting) is None
    failing = [*starting, {"type": "DatabaseReady", "status": "False", "reason": "Unreachable"}]
    assert transitions_event([], failing) == (
        "Normal",
        "ReadyFalse",
        "NamespaceReady=True (NamespaceProvisioned); ToolsReady=False (ToolsNotAvailable); "
        "Ready=False (ToolsNotAvailable); DatabaseReady=False (Unreachable)",
    )


def test_an_event_waits_for_the_answer_of_a_write_in_flight() -> None:
    own = OwnWrites()
    body = _deployment("10", 1)

    async def judge_during_write() -> None:
        with own.writing(object_key("Deployment", body)):
            waiting = asyncio.create_task(own.settled("Deployment", body))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            own.note(body)
        await waiting
        assert own.is_own("Deployment", body)

    asyncio.run(judge_during_write())
