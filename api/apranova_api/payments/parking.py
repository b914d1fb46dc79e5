"""Parking a fulfilment: a paid checkout that a permanent failure stops, kept with its reason.

A permanent failure (the session's data breaks a rule, the cluster answers 4xx) is not retried:
it is parked, once per checkout session, with an audit row, a metric, a Warning log line, and
verify answers ``rejected``. Parking never stops anything else: other students' fulfilments and
the repair pass go on. Support settles the money (README, section api, "Verify states").
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.metrics import PARKED_FULFILMENTS
from apranova_api.models import AuditLog, ParkedFulfilment, Payment
from apranova_api.payments.transactions import run_in_transaction
from apranova_api.services import Services

VALIDATION = "validation"
STRIPE = "stripe"
CLUSTER = "cluster"

log = logging.getLogger(__name__)


def record_park(
    db: Session, checkout_session_id: str, user_id: int | None, source: str, reason: str
) -> bool:
    """Park ``checkout_session_id`` in ``db`` (the caller commits); ``False`` if already parked."""
    if db.get(ParkedFulfilment, checkout_session_id) is not None:
        return False
    db.add(
        ParkedFulfilment(
            checkout_session_id=checkout_session_id,
            user_id=user_id,
            source=source,
            reason=reason[:500],
        )
    )
    db.add(
        AuditLog(
            user_id=user_id,
            action="fulfilment_parked",
            details={
                "checkout_session_id": checkout_session_id,
                "source": source,
                "reason": reason,
            },
        )
    )
    db.flush()
    return True


def announce_park(checkout_session_id: str, source: str, reason: str) -> None:
    """The metric and the Warning line of a new park (after its commit)."""
    PARKED_FULFILMENTS.labels(source=source).inc()
    log.warning(
        "fulfilment of checkout session %s parked (%s, permanent): %s",
        checkout_session_id,
        source,
        reason,
    )


def park_user_fulfilments(services: Services, user_id: int, source: str, reason: str) -> None:
    """Park every paid checkout of ``user_id`` (the enrollment they grant cannot be created)."""

    def work(db: Session) -> list[str]:
        sessions = db.scalars(
            select(Payment.checkout_session_id).where(Payment.user_id == user_id)
        ).all()
        return [s for s in sessions if record_park(db, s, user_id, source, reason)]

    for session_id in run_in_transaction(services.sessions, work):
        announce_park(session_id, source, reason)


def parked_user_ids(db: Session) -> set[int]:
    """Users with a parked fulfilment: the repair pass leaves them to support."""
    return {
        user_id
        for user_id in db.scalars(select(ParkedFulfilment.user_id)).all()
        if user_id is not None
    }


def parked_reason(db: Session, checkout_session_id: str) -> str | None:
    """The reason ``checkout_session_id`` is parked, or ``None``."""
    parked = db.get(ParkedFulfilment, checkout_session_id)
    return parked.reason if parked is not None else None
