"""The admin connection to the student-data server: a small bounded pool, work in threads.

psycopg2 blocks, so each unit of work runs in a worker thread. An :class:`asyncio.Semaphore`
bounds how many run at once to the pool size, whatever the number of enrollments reconciling;
the others wait their turn. A connection that failed is closed, never reused; a reused idle
connection that turns out dead (the server restarted) is replaced once before giving up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import connection as Connection
from psycopg2.extensions import cursor as Cursor
from psycopg2.extensions import make_dsn

from apranova_operator.database import plan
from apranova_operator.database.plan import (
    Observed,
    Refusal,
    RoleLimits,
    RoleState,
    StudentDatabase,
    Teardown,
)

T = TypeVar("T")

_ADMIN_SESSION = "SET lock_timeout = '15s'; SET statement_timeout = '60s'"


class AdminPool:
    """At most ``size`` admin connections, shared by every reconcile of the process."""

    def __init__(self, parameters: dict[str, str], size: int) -> None:
        self._parameters = {"application_name": "apranova-operator", **parameters}
        self._size = size
        self._idle: list[Connection] = []
        self._idle_lock = threading.Lock()
        self._semaphore: asyncio.Semaphore | None = None
        self._open = 0

    @property
    def open_connections(self) -> int:
        """How many admin connections exist now (idle or in use); never more than ``size``."""
        return self._open

    def _connect(self) -> Connection:
        connection = psycopg2.connect(make_dsn(**self._parameters))
        with self._idle_lock:
            self._open += 1
        try:
            with connection.cursor() as cursor:
                cursor.execute(_ADMIN_SESSION)
            connection.commit()
        except BaseException:
            self._discard(connection)
            raise
        return connection

    def _discard(self, connection: Connection) -> None:
        with self._idle_lock:
            self._open -= 1
        connection.close()

    def _take(self) -> tuple[Connection, bool]:
        with self._idle_lock:
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def _run_blocking(self, work: Callable[[Connection], T]) -> T:
        connection, reused = self._take()
        try:
            result = work(connection)
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            self._discard(connection)
            if not reused:
                raise
            connection = self._connect()
            try:
                result = work(connection)
            except BaseException:
                self._discard(connection)
                raise
        except BaseException:
            self._discard(connection)
            raise
        with self._idle_lock:
            self._idle.append(connection)
        return result

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` in a thread once one of the ``size`` slots is free."""
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._size)
        async with self._semaphore:
            return await asyncio.to_thread(self._run_blocking, work)

    def close(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            self._discard(connection)


def _execute_locked(connection: Connection, statements: list[sql.Composable]) -> None:
    """Run ``statements`` in one transaction that holds the operator's advisory lock."""
    with connection, connection.cursor() as cursor:
        cursor.execute(plan.lock_statement())
        for statement in statements:
            cursor.execute(statement)


def _observe(cursor: Cursor, target: StudentDatabase) -> Observed:
    cursor.execute(plan.observe_role_query(target))
    row = cursor.fetchone()
    cursor.execute(plan.observe_schema_query(target))
    schema_row = cursor.fetchone()
    role = (
        RoleState(superuser=row[0], replication=row[1], bypass_rls=row[2], comment=row[3])
        if row
        else None
    )
    return Observed(role=role, schema_owner=schema_row[0] if schema_row else None)


def observe(connection: Connection, target: StudentDatabase) -> Observed:
    with connection, connection.cursor() as cursor:
        return _observe(cursor, target)


def provision(
    connection: Connection, target: StudentDatabase, limits: RoleLimits, verifier: str
) -> Refusal | None:
    """Create or update the student's role and schema in one transaction; ``Refusal`` if unsafe.

    The observation is made under the advisory lock, in the same transaction as the changes; the
    database is hardened and the hardening verified before any student object is touched.
    """
    with connection, connection.cursor() as cursor:
        cursor.execute(plan.lock_statement())
        statements = plan.provision_plan(target, limits, verifier, _observe(cursor, target))
        if isinstance(statements, Refusal):
            return statements
        for statement in plan.hardening_statements(target.database):
            cursor.execute(statement)
        cursor.execute(plan.public_access_query())
        access = cursor.fetchone()
        assert access is not None, "a SELECT of two expressions returns one row"
        database_open, public_schema_open = access
        refusal = plan.open_to_public(target.database, database_open, public_schema_open)
        if refusal is not None:
            return refusal
        for statement in statements:
            cursor.execute(statement)
    return None


def teardown(
    connection: Connection, target: StudentDatabase, keep_data: bool, now: datetime
) -> Teardown:
    """Drop or retain the student's role and schema; each planned transaction in turn."""
    steps = plan.teardown_plan(target, observe(connection, target), keep_data, now)
    for statements in steps.transactions:
        _execute_locked(connection, statements)
    return steps
