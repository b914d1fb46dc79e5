from __future__ import annotations

from apranova_contract import labels
from apranova_operator.handlers import child_work, enrollment_needs_work


def _enrollment(generation: int, observed: int | None, finalizer: bool = True) -> dict:
    return {
        "metadata": {
            "generation": generation,
            "finalizers": [labels.FINALIZER] if finalizer else [],
        },
        "status": {"observedGeneration": observed} if observed is not None else {},
    }


def test_enrollment_events_that_need_work() -> None:
    assert enrollment_needs_work(None, _enrollment(1, 1))
    assert enrollment_needs_work("ADDED", _enrollment(1, 1))
    assert enrollment_needs_work("MODIFIED", _enrollment(2, 1))
    assert enrollment_needs_work("MODIFIED", _enrollment(1, 1, finalizer=False))
    deleting = _enrollment(1, 1)
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert enrollment_needs_work("MODIFIED", deleting)


def test_own_status_writes_cause_no_work() -> None:
    assert not enrollment_needs_work("MODIFIED", _enrollment(3, 3))


def test_child_events() -> None:
    deployment = {"metadata": {"generation": 2}, "status": {"observedGeneration": 2}}
    assert child_work("Deployment", None, deployment) is None
    assert child_work("Service", "ADDED", {}) is None
    assert child_work("Deployment", "DELETED", deployment) is True
    assert child_work("Deployment", "MODIFIED", deployment) is False
    edited = {"metadata": {"generation": 3}, "status": {"observedGeneration": 2}}
    assert child_work("Deployment", "MODIFIED", edited) is True
    quota = {"spec": {"hard": {"pods": "20"}}, "status": {"hard": {"pods": "20"}, "used": {}}}
    assert child_work("ResourceQuota", "MODIFIED", quota) is None
    quota["spec"]["hard"]["pods"] = "99"
    assert child_work("ResourceQuota", "MODIFIED", quota) is True
    assert child_work("PersistentVolumeClaim", "MODIFIED", {}) is None
    assert child_work("Service", "MODIFIED", {}) is True


def test_track_reference_is_case_insensitive() -> None:
    assert labels.track_resource_name("DP") == "dp"
    assert labels.track_resource_name("fsd") == "fsd"
