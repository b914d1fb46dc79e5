"""Stop the student-data PostgreSQL server in the middle of provisioning, and again in the middle
of deletion; every enrollment converges unattended once it is back.

Real parts: the local control plane, the operator, PostgreSQL (stopped with ``pg_ctl``).
Short scale: 3 enrollments; full: 20.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.e2e.test_database_adapter import Server
from tests.faults import fleet
from tests.faults.harness import sized
from tests.faults.outages import Fleet, outage_during_provisioning_and_deletion
from tests.support.operator_process import wait_for

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.postgres,
    pytest.mark.faults,
    pytest.mark.timeout(1800),
]


def test_postgres_restart_mid_provisioning_and_mid_deletion(
    crds_applied: str,
    fault_track: str,
    student_data: Server,
    postgres_server: Any,
    run_id: str,
    run_label: tuple[str, str],
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    test_output_dir: Path,
) -> None:
    selector = f"{run_label[0]}={run_label[1]}"
    usernames = [f"{run_id}-{index:02d}" for index in range(sized(3, 20))]
    group = Fleet(objects, core, student_data, selector, dict([run_label]), fault_track, usernames)
    log = test_output_dir / f"operator-pg-restart-{run_id}.log"
    operator = fleet.start_fault_operator(crds_applied, selector, student_data, log)
    try:
        provisioning, deletion, left = outage_during_provisioning_and_deletion(
            "postgres-restart",
            group,
            postgres_server.stop,
            postgres_server.start,
            sized(300, 900),
            test_output_dir,
        )
        assert provisioning.lost == 0
        assert deletion.orphaned == 0, left
    finally:
        if not postgres_server.is_running():
            postgres_server.start()
        fleet.delete_all(objects, usernames)
        wait_for(lambda: not fleet.enrollments(objects, selector), 600, "cleanup", interval=2)
        operator.stop()
