"""Run a unit of work in one transaction, retrying when a unique constraint says "taken".

A concurrent writer that loses on ``processed_events``, ``payments.checkout_session_id`` or
``users.email`` rolls back and runs again; the second run sees the winner's rows and does
nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
MAX_ATTEMPTS = 8

log = logging.getLogger(__name__)


def _retryable(error: Exception) -> bool:
    if isinstance(error, IntegrityError):
        return True
    # PostgreSQL serialization failures and deadlocks; SQLite "database is locked".
    code = getattr(getattr(error, "orig", None), "pgcode", None)
    return code in ("40001", "40P01") or "database is locked" in str(error)


def run_in_transaction(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    """``work(db)`` committed once; retried on a lost unique-constraint race."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with sessions() as db:
            try:
                result = work(db)
                db.commit()
                return result
            except (IntegrityError, OperationalError) as error:
                db.rollback()
                if not _retryable(error) or attempt == MAX_ATTEMPTS:
                    raise
                log.info("transaction lost a race (attempt %d), retrying: %s", attempt, error)
    raise AssertionError("unreachable")
