"""The step's ordering, outcomes and backoff, with the server replaced by a recorder."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import pytest

from apranova_operator.database import adapter, step
from apranova_operator.database.credentials import SECRET_KEYS, SECRET_NAME, scram_verifier
from apranova_operator.database.plan import Refusal, Teardown
from apranova_operator.database.settings import load_settings
from apranova_operator.steps import StepContext, StepResult

NAMESPACE = "student-ada"


class MemorySecrets:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], dict[str, str]] = {}
        self.writes = 0

    async def read(self, namespace: str, name: str) -> dict[str, str] | None:
        stored = self.data.get((namespace, name))
        return dict(stored) if stored is not None else None

    async def write(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        self.writes += 1
        self.data[(namespace, name)] = dict(data)


class InlinePool:
    """Runs the step's work at once, on no connection (``adapter.provision`` is replaced)."""

    async def run(self, work: Any) -> Any:
        return work(None)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("STUDENT_DB_ADMIN_URL", "postgresql://admin:pw@127.0.0.1:5432/student_data")
    monkeypatch.setenv("STUDENT_DB_HOST_FOR_STUDENTS", "pg.data.svc")
    yield


def context(
    secrets: MemorySecrets, uid: str = "uid-1", status: Mapping[str, Any] | None = None
) -> StepContext:
    return StepContext(
        enrollment_name="ada",
        enrollment_uid=uid,
        spec={"student": {"username": "ada"}, "track": "DP"},
        status=status or {},
        track_name="DP",
        track_spec={"database": True},
        namespace=NAMESPACE,
        secrets=secrets,
        record_event=lambda type_, reason, message: None,
    )


def use_server(monkeypatch: pytest.MonkeyPatch, provision: Any) -> None:
    monkeypatch.setattr(adapter, "provision", provision)


def reconcile(ctx: StepContext) -> StepResult:
    """The step with the settings of the environment now and a pool that runs work inline."""
    return asyncio.run(step.reconcile(ctx, load_settings(), InlinePool()))  # type: ignore[arg-type]


def cleanup(ctx: StepContext) -> None:
    asyncio.run(step.cleanup(ctx, load_settings(), InlinePool()))  # type: ignore[arg-type]


def test_unconfigured_reports_not_configured_and_backs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUDENT_DB_ADMIN_URL", raising=False)
    secrets = MemorySecrets()
    first = reconcile(context(secrets))
    second = reconcile(context(secrets, status=first.status_patch))
    assert (first.ready, first.reason, first.type) == (
        False,
        "NotConfigured",
        "DatabaseReady",
    )
    since = first.status_patch["database"]["failingSince"]
    assert first.status_patch == {
        "database": {
            "schema": "stu_ada",
            "secretName": "student-database",
            "ready": False,
            "failingSince": since,
        }
    }
    assert second.status_patch["database"]["failingSince"] == since
    assert (first.retry_after, second.retry_after) == (5.0, 5.0)
    assert secrets.writes == 0


def test_secret_is_written_before_the_role_gets_its_password(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = MemorySecrets()
    seen: list[tuple[dict[str, str] | None, str]] = []

    def provision(connection: Any, target: Any, limits: Any, verifier: str) -> None:
        seen.append((secrets.data.get((NAMESPACE, SECRET_NAME)), verifier))
        assert (limits.connection_limit, target.role, target.database) == (
            10,
            "stu_ada",
            "student_data",
        )

    use_server(monkeypatch, provision)
    result = reconcile(context(secrets))
    assert (result.ready, result.reason, result.retry_after) == (True, "SchemaReady", None)
    assert result.status_patch["database"]["ready"] is True
    stored, verifier = seen[0]
    assert stored is not None and set(stored) == SECRET_KEYS
    assert stored["host"] == "pg.data.svc"
    assert verifier == scram_verifier(stored["password"], "stu_ada")
    assert stored["password"] not in repr(result)


def _reconciled_once_recording_verifiers(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[MemorySecrets, list[str]]:
    """Reconcile once; the stand-in server keeps every password verifier it is given."""
    secrets = MemorySecrets()
    verifiers: list[str] = []
    use_server(monkeypatch, lambda connection, target, limits, verifier: verifiers.append(verifier))
    reconcile(context(secrets))
    return secrets, verifiers


def test_reconciling_again_keeps_the_secret_and_password(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets, verifiers = _reconciled_once_recording_verifiers(monkeypatch)
    before = dict(secrets.data[(NAMESPACE, SECRET_NAME)])
    reconcile(context(secrets))
    assert secrets.writes == 1
    assert secrets.data[(NAMESPACE, SECRET_NAME)] == before
    assert verifiers[0] == verifiers[1]


def test_lost_secret_gets_a_new_password_applied_to_the_role(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets, verifiers = _reconciled_once_recording_verifiers(monkeypatch)
    old_password = secrets.data.pop((NAMESPACE, SECRET_NAME))["password"]
    reconcile(context(secrets))
    new_password = secrets.data[(NAMESPACE, SECRET_NAME)]["password"]
    assert new_password != old_password
    assert verifiers[1] == scram_verifier(new_password, "stu_ada")


def test_retry_delay_grows_with_time_failing_not_attempts() -> None:
    assert [step.retry_delay(t) for t in (0, 3, 5, 10, 20, 40, 160, 320, 10_000)] == [
        5,
        5,
        5,
        10,
        20,
        40,
        160,
        300,
        300,
    ]


def test_outage_backs_off_then_recovers(configured: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The backoff state lives in the status the step returns (``failingSince``): each reconcile
    here sees the status the previous one wrote, as after a restart of the operator."""
    secrets = MemorySecrets()
    state = {"up": False}
    clock = {"now": datetime(2026, 1, 1, tzinfo=UTC)}
    monkeypatch.setattr(step.clock, "now", lambda: clock["now"])
    status: dict[str, Any] = {}

    def provision(connection: Any, target: Any, limits: Any, verifier: str) -> None:
        if not state["up"]:
            raise psycopg2.OperationalError("connection to server failed: Connection refused")

    def run() -> StepResult:
        result = reconcile(context(secrets, status=status))
        status.update(result.status_patch)
        return result

    use_server(monkeypatch, provision)
    bursts = [run() for _ in range(5)]
    assert {r.reason for r in bursts} == {"DatabaseUnavailable"}
    assert "Connection refused" in bursts[0].message
    assert {r.retry_after for r in bursts} == {5.0}
    delays: list[float] = []
    for _ in range(8):
        clock["now"] += timedelta(seconds=delays[-1] if delays else 5.0)
        delays.append(run().retry_after or 0.0)
    assert delays == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]
    state["up"] = True
    recovered = run()
    assert recovered.ready and recovered.status_patch["database"]["failingSince"] is None
    status["database"] = {k: v for k, v in status["database"].items() if v is not None}
    state["up"] = False
    assert run().retry_after == 5.0


def test_refusals_and_server_errors_become_reasons(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = MemorySecrets()
    use_server(monkeypatch, lambda *args: Refusal("RoleConflict", "role stu_ada is not ours"))
    refused = reconcile(context(secrets))
    assert (refused.ready, refused.reason, refused.message) == (
        False,
        "RoleConflict",
        "role stu_ada is not ours",
    )
    password = secrets.data[(NAMESPACE, SECRET_NAME)]["password"]

    def denied(connection: Any, target: Any, limits: Any, verifier: str) -> None:
        raise psycopg2.errors.InsufficientPrivilege(f"permission denied near {password}")

    use_server(monkeypatch, denied)
    result = reconcile(context(secrets))
    assert result.reason == "DatabaseRefused"
    assert password not in result.message and "[redacted]" in result.message


def test_cleanup_records_what_happened_to_the_data(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, str, str]] = []
    ctx = replace(context(MemorySecrets()), record_event=lambda *event: events.append(event))
    seen: list[bool] = []

    def teardown(connection: Any, target: Any, keep: bool, now: Any) -> Teardown:
        seen.append(keep)
        return Teardown(transactions=[[]], retained_as=("stu_ada_deleted_1", "stu_ada_deleted_1"))

    monkeypatch.setattr(adapter, "teardown", teardown)
    monkeypatch.setenv("STUDENT_DB_KEEP_DATA_ON_DELETE", "true")
    cleanup(ctx)
    assert seen == [True]
    assert events[-1][:2] == ("Normal", "DatabaseRetained")
    assert "stu_ada_deleted_1" in events[-1][2]


def test_cleanup_without_configuration_warns_and_lets_go(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUDENT_DB_ADMIN_URL", raising=False)
    events: list[tuple[str, str, str]] = []
    ctx = replace(context(MemorySecrets()), record_event=lambda *event: events.append(event))
    cleanup(ctx)
    assert events == [
        (
            "Warning",
            "DatabaseNotCleaned",
            "STUDENT_DB_ADMIN_URL is not set: the student's schema and role were not removed",
        )
    ]
