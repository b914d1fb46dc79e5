"""The repair loop: every enrollment the database grants has its StudentEnrollment, as it says.

A webhook that committed its rows while the cluster (or Stripe) was down answered 503 and Stripe
will retry; this loop does not wait for that. Each pass lists the enrollments once, syncs every
enrollment row whose object is missing, that is not active (so a refund or dispute during an
outage lands) or whose object is still suspended although the row is active (a lifted
suspension lands), and makes every duplicate purchase's refund Stripe has not accepted yet.
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
from apranova_api.models import Enrollment, Payment
from apranova_api.payments import purchases
from apranova_api.payments.fulfil import refund_duplicate, sync_enrollment
from apranova_api.payments.gateway import GatewayRejectedError, GatewayUnavailableError
from apranova_api.payments.parking import parked_user_ids
from apranova_api.services import Services

log = logging.getLogger(__name__)


def enrollments_to_sync(
    rows: list[tuple[int, str, str]],
    suspended_in_cluster: dict[str, bool],
    parked: frozenset[int] = frozenset(),
) -> list[int]:
    """Ids of enrollment rows (id, name, state) to sync (pure): the object is missing, the row
    is not active (its reason may have changed), or the object is suspended while the row is
    active (a lifted suspension that did not reach the cluster); never the ``parked`` ones."""
    return [
        enrollment_id
        for enrollment_id, name, state in rows
        if enrollment_id not in parked
        and (
            name not in suspended_in_cluster
            or state != purchases.ACTIVE
            or suspended_in_cluster[name]
        )
    ]


def refund_due_payments(services: Services) -> list[int]:
    """Duplicate purchases whose refund Stripe has not accepted yet."""
    with services.sessions() as db:
        return list(
            db.scalars(
                select(Payment.id).where(
                    Payment.grant == purchases.DUPLICATE,
                    Payment.refund_id.is_(None),
                    Payment.status != purchases.REFUNDED,
                )
            )
        )


def repair_once(services: Services) -> int:
    """One pass; returns how many enrollments were synced. Raises when the cluster is down.

    A duplicate refund that Stripe cannot take now is logged and tried again next pass.
    """
    for payment_id in refund_due_payments(services):
        try:
            refund_duplicate(services, payment_id)
        except (GatewayUnavailableError, GatewayRejectedError) as error:
            log.warning(
                "repair loop: refund of duplicate purchase %s failed: %s", payment_id, error
            )
    existing = services.kube.list_enrollment_suspensions()
    with services.sessions() as db:
        rows = db.execute(select(Enrollment.id, Enrollment.name, Enrollment.state)).all()
        parked_users = parked_user_ids(db)
        parked = frozenset(
            db.scalars(select(Enrollment.id).where(Enrollment.user_id.in_(parked_users)))
        )
    todo = enrollments_to_sync([(r[0], r[1], r[2]) for r in rows], existing, parked)
    for enrollment_id in todo:
        sync_enrollment(services, enrollment_id)
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
