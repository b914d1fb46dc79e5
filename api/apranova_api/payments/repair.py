"""The repair loop: every paying student has a StudentEnrollment, whatever happened before.

A webhook that committed its rows while the cluster was down answered 503 and Stripe will
retry; this loop does not wait for that. Each pass lists the enrollments once and syncs every
user whose enrollment is missing, or who is suspended (so a refund during an outage lands).
A student the cluster refuses for good (4xx) is parked by :func:`sync_enrollment` and the pass
goes on with the others; parked students are left to support in later passes. Only a cluster
that cannot be reached (temporary) ends a pass early: the next pass tries everyone again.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.metrics import REPAIR_RUNS
from apranova_api.models import SUSPENDED, User
from apranova_api.payments.fulfil import sync_enrollment
from apranova_api.payments.parking import parked_user_ids
from apranova_api.services import Services
from apranova_contract.names import enrollment_name

log = logging.getLogger(__name__)


def users_to_sync(
    users: list[tuple[int, str, str]], existing: set[str], parked: frozenset[int] = frozenset()
) -> list[int]:
    """Ids of users (id, username, status) whose enrollment is missing or suspended, except
    the ``parked`` ones (pure)."""
    return [
        user_id
        for user_id, username, status in users
        if user_id not in parked
        and (status == SUSPENDED or enrollment_name(username) not in existing)
    ]


def repair_once(services: Services) -> int:
    """One pass; returns how many users were synced. Raises when the cluster is down."""
    existing = services.kube.list_enrollment_names()
    with services.sessions() as db:
        rows = db.execute(
            select(User.id, User.username, User.enrollment_status).where(
                User.payment_verified.is_(True)
            )
        ).all()
        parked = frozenset(parked_user_ids(db))
    todo = users_to_sync([(r[0], r[1], r[2]) for r in rows], existing, parked)
    for user_id in todo:
        sync_enrollment(services, user_id)
    return len(todo)


class RepairLoop:
    """Runs :func:`repair_once` every ``interval`` seconds in a daemon thread."""

    def __init__(self, services: Services, interval: float) -> None:
        self._services = services
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="enrollment-repair", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                synced = repair_once(self._services)
                REPAIR_RUNS.labels(result="ok").inc()
                if synced:
                    log.info("repair loop synced %d enrollments", synced)
            except KubeUnavailableError as error:
                REPAIR_RUNS.labels(result="cluster_unavailable").inc()
                log.warning("repair loop: cluster unavailable: %s", error)
            except Exception:
                REPAIR_RUNS.labels(result="error").inc()
                log.exception("repair loop pass failed")
