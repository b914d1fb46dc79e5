"""SIGKILL the operator again and again during a burst of enrollments, then delete them all at
once; count what was lost, duplicated, rotated or left behind.

Real parts: the local control plane, a PostgreSQL server (student databases), the operator as a
subprocess. Short scale: 5 enrollments, 2 kills; full: 200 enrollments, 10 kills.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from kubernetes import client

from tests.e2e.test_database_adapter import Server
from tests.faults import fleet
from tests.faults.harness import Counts, Stopwatch, report, settle, sized
from tests.support.operator_process import wait_for

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.postgres,
    pytest.mark.faults,
    pytest.mark.timeout(3600),
]


def test_sigkill_during_a_burst_then_mass_deletion(
    crds_applied: str,
    fault_track: str,
    student_data: Server,
    run_id: str,
    run_label: tuple[str, str],
    objects: client.CustomObjectsApi,
    core: client.CoreV1Api,
    apps: client.AppsV1Api,
    networking: client.NetworkingV1Api,
    test_output_dir: Path,
) -> None:
    total, kills = sized(5, 200), sized(2, 10)
    selector = f"{run_label[0]}={run_label[1]}"
    usernames = [f"{run_id}-{index:03d}" for index in range(total)]
    operator = fleet.start_fault_operator(
        crds_applied, selector, student_data, test_output_dir / f"operator-sigkill-{run_id}.log"
    )
    seen: dict[tuple[str, str], dict[str, str]] = {}
    counts = Counts("operator-sigkill", enrollments=total)
    try:
        clock = Stopwatch()
        fleet.create_all(objects, usernames, fault_track, dict([run_label]))
        chance = random.Random(run_id)
        while counts.faults < kills:
            time.sleep(chance.uniform(0.5, 3.0))
            fleet.remember_credentials(seen, fleet.secrets_by_enrollment(core, selector))
            operator.kill()
            counts.faults += 1
            operator.start()

        def all_ready() -> bool:
            fleet.remember_credentials(seen, fleet.secrets_by_enrollment(core, selector))
            return fleet.phases(objects, selector).get("Ready", 0) == total

        settle(all_ready, sized(300, 1800))
        counts.converge_seconds = clock.seconds()
        counts.lost = total - fleet.phases(objects, selector).get("Ready", 0)
        counts.duplicated = fleet.duplicates(core, apps, networking, selector)
        current = fleet.secrets_by_enrollment(core, selector)
        changed = fleet.rotated(seen, current)
        counts.notes["rotated"] = len(changed)
        present = set(fleet.enrollments(objects, selector))
        counts.orphaned = len(
            [
                ns
                for ns in fleet.labelled_namespaces(core, selector)
                if ns[len("student-") :] not in present
            ]
        )
        report(counts, test_output_dir)
        assert (counts.lost, counts.duplicated, counts.orphaned, changed) == (0, 0, 0, [])

        deletion = Counts("mass-deletion", enrollments=total)
        clock = Stopwatch()
        fleet.delete_all(objects, usernames)
        settle(lambda: not fleet.enrollments(objects, selector), sized(300, 1800))
        deletion.converge_seconds = clock.seconds()
        left = fleet.leftovers(objects, core, student_data, selector, usernames)
        deletion.orphaned = sum(left.values())
        deletion.notes.update(left)
        report(deletion, test_output_dir)
        assert deletion.orphaned == 0, left
    finally:
        fleet.delete_all(objects, usernames)
        wait_for(lambda: not fleet.enrollments(objects, selector), 600, "cleanup", interval=2)
        operator.stop()
