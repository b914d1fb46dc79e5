"""One shape for "a dependency goes away in the middle of provisioning, and again in the middle
of deletion": create a fleet, take the dependency away, bring it back, count; then the same
during deletion. The caller says how to stop and start the dependency."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client

from tests.e2e.test_database_adapter import Server
from tests.faults import fleet
from tests.faults.harness import Counts, Stopwatch, report, settle

OUTAGE_SECONDS = 10


@dataclass
class Fleet:
    """The enrollments of one scenario, where they live, and their student-data server."""

    objects: client.CustomObjectsApi
    core: client.CoreV1Api
    database: Server
    selector: str
    labels: dict[str, str]
    track: str
    usernames: list[str]


def outage_during_provisioning_and_deletion(
    name: str,
    group: Fleet,
    stop: Callable[[], None],
    start: Callable[[], None],
    timeout: float,
    output_dir: Path,
) -> tuple[Counts, Counts, dict[str, int]]:
    """Run both halves; the two counts (already reported) and what deletion left behind."""
    total = len(group.usernames)
    provisioning = Counts(f"{name}-provisioning", enrollments=total, faults=1)
    fleet.create_all(group.objects, group.usernames, group.track, group.labels)
    time.sleep(1)
    stop()
    time.sleep(OUTAGE_SECONDS)
    start()
    clock = Stopwatch()

    def ready() -> int:
        return fleet.phases(group.objects, group.selector).get("Ready", 0)

    settle(lambda: ready() == total, timeout)
    provisioning.converge_seconds = clock.seconds()
    roles, schemas = fleet.database_leftovers(group.database, group.usernames)
    provisioning.lost = (total - ready()) + (total - roles) + (total - schemas)
    report(provisioning, output_dir)

    deletion = Counts(f"{name}-deletion", enrollments=total, faults=1)
    fleet.delete_all(group.objects, group.usernames)
    time.sleep(0.5)
    stop()
    time.sleep(OUTAGE_SECONDS)
    start()
    clock = Stopwatch()
    settle(lambda: not fleet.enrollments(group.objects, group.selector), timeout)
    deletion.converge_seconds = clock.seconds()
    left = fleet.leftovers(
        group.objects, group.core, group.database, group.selector, group.usernames
    )
    deletion.orphaned = sum(left.values())
    deletion.notes.update(left)
    report(deletion, output_dir)
    return provisioning, deletion, left
