"""Fixtures of the fault suite: a run label, a light database track and the student-data server.

Every object a scenario creates carries ``apranova.io/test-run=<its run>`` (the operators
started here only serve those), so the suite shares the local control plane with other runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.e2e.test_database_adapter import Server, student_data_server
from tests.faults.fleet import light_track
from tests.faults.harness import PRINTED
from tests.support.operator_process import GROUP, VERSION


@pytest.fixture
def run_id() -> str:
    return "f" + secrets.token_hex(3)


@pytest.fixture
def run_label(run_id: str) -> tuple[str, str]:
    return "apranova.io/test-run", f"faults-{run_id}"


@pytest.fixture
def student_data(postgres_server: Any, run_id: str) -> Iterator[Server]:
    with student_data_server(postgres_server, run_id) as server:
        yield server


@pytest.fixture
def fault_track(crds_applied: str, objects: client.CustomObjectsApi, run_id: str) -> Iterator[str]:
    name = f"faults-{run_id}"
    objects.create_cluster_custom_object(GROUP, VERSION, "tracks", light_track(name))
    yield name
    objects.delete_cluster_custom_object(GROUP, VERSION, "tracks", name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Repeat the count line of every scenario that ran at the end of the run."""
    if PRINTED:
        terminalreporter.section("fault suite counts")
        for line in PRINTED:
            terminalreporter.write_line(line)
