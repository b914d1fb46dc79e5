"""The student-database step: reconcile (schema, role, Secret) and cleanup (drop or retain).

Order makes every crash point converge. The Secret is the source of truth for the password: when
it is missing a new password is generated and the Secret is written *before* the role is touched;
then the role's password is set from the Secret on every reconcile (see
:mod:`apranova_operator.database.credentials` for why that changes nothing when it already
matches). A crash between the two leaves a Secret whose password the next reconcile applies.

Expected failures (no configuration, server down or refusing, a name taken by someone else)
become ``DatabaseReady=False`` with a reason and a ``retry_after`` that backs off per enrollment,
so the rest of the environment provisions and the step heals by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg2

from apranova_contract import names
from apranova_contract.status import DATABASE_READY
from apranova_operator import clock
from apranova_operator.database import adapter
from apranova_operator.database.credentials import (
    SECRET_NAME,
    generate_password,
    scram_verifier,
    secret_data,
    stored_password,
)
from apranova_operator.database.plan import Refusal, RoleLimits, StudentDatabase
from apranova_operator.database.settings import DatabaseSettings
from apranova_operator.steps import StepContext, StepResult

CONDITION_TYPE = DATABASE_READY
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 300.0
_MESSAGE_LIMIT = 300

log = logging.getLogger(__name__)


def admin_pool(settings: DatabaseSettings) -> adapter.AdminPool:
    """The process's one admin pool (connections open on first use; none when unconfigured)."""
    parameters = settings.admin_parameters() if settings.configured else {}
    return adapter.AdminPool(parameters, settings.pool_size)


def retry_delay(failing_for: float) -> float:
    """Seconds to wait when the step has been failing for ``failing_for`` seconds.

    Waiting as long as it has already failed doubles the interval on each timed retry (5, 5, 10,
    20, 40 ... capped at five minutes). It is measured in time, not in attempts, so the extra
    reconciles that unrelated events trigger (a Deployment becoming available) do not stretch it.
    """
    return min(max(FIRST_RETRY_SECONDS, failing_for), MAX_RETRY_SECONDS)


def describe_error(error: BaseException, *secrets: str) -> str:
    """A one-line message for a condition: the driver's text, never a secret, bounded length."""
    text = " ".join(str(error).split()) or type(error).__name__
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text[:_MESSAGE_LIMIT]


def _status(
    schema: str, ready: bool, failing_since: str | None = None
) -> dict[str, dict[str, object]]:
    return {
        "database": {
            "schema": schema,
            "secretName": SECRET_NAME,
            "ready": ready,
            "failingSince": failing_since,
        }
    }


def failing_since(status: Mapping[str, Any], now: datetime) -> datetime:
    """When the current run of failures began: ``status.database.failingSince`` (kept in the
    status so a restarted operator keeps backing off), or ``now`` for a first failure."""
    recorded = (status.get("database") or {}).get("failingSince")
    try:
        since = clock.parse_timestamp(recorded) if isinstance(recorded, str) else now
    except ValueError:
        since = now
    return min(since, now)


def _failed(ctx: StepContext, schema: str, reason: str, message: str) -> StepResult:
    now = clock.now()
    since = failing_since(ctx.status, now)
    log.warning("database step for %s not ready: %s: %s", ctx.enrollment_name, reason, message)
    return StepResult(
        type=CONDITION_TYPE,
        ready=False,
        reason=reason,
        message=message,
        status_patch=_status(schema, False, clock.timestamp(since)),
        retry_after=retry_delay((now - since).total_seconds()),
    )


def _target(ctx: StepContext, settings: DatabaseSettings) -> StudentDatabase:
    return StudentDatabase.for_student(ctx.enrollment_name, settings.database_name())


async def reconcile(
    ctx: StepContext, settings: DatabaseSettings, pool: adapter.AdminPool
) -> StepResult:
    """Ensure the student's role, schema and ``student-database`` Secret exist and agree."""
    schema = names.schema_name(ctx.enrollment_name)
    if not settings.configured:
        return _failed(ctx, schema, "NotConfigured", "STUDENT_DB_ADMIN_URL is not set")
    target = _target(ctx, settings)
    try:
        stored = await ctx.secrets.read(ctx.namespace, SECRET_NAME)
    except Exception as error:
        return _failed(
            ctx, schema, "SecretUnavailable", f"reading the Secret: {describe_error(error)}"
        )
    password = stored_password(stored) or generate_password()
    data = secret_data(
        settings.student_endpoint(), target.database, target.role, target.schema, password
    )
    if stored != data:
        try:
            await ctx.secrets.write(ctx.namespace, SECRET_NAME, data)
        except Exception as error:
            message = describe_error(error, password)
            return _failed(ctx, schema, "SecretUnavailable", f"writing the Secret: {message}")
    verifier = scram_verifier(password, target.role)
    limits = RoleLimits(settings.connection_limit, settings.statement_timeout)
    try:
        refusal = await pool.run(
            lambda connection: adapter.provision(connection, target, limits, verifier)
        )
    except psycopg2.OperationalError as error:
        return _failed(
            ctx, schema, "DatabaseUnavailable", describe_error(error, password, verifier)
        )
    except psycopg2.Error as error:
        return _failed(ctx, schema, "DatabaseRefused", describe_error(error, password, verifier))
    if isinstance(refusal, Refusal):
        return _failed(ctx, schema, refusal.reason, refusal.message)
    return StepResult(
        type=CONDITION_TYPE,
        ready=True,
        reason="SchemaReady",
        message=f"schema {target.schema} and role {target.role} are ready",
        status_patch=_status(target.schema, True),
    )


async def cleanup(ctx: StepContext, settings: DatabaseSettings, pool: adapter.AdminPool) -> None:
    """Drop the student's schema and role (or retain them); raises while the server is away.

    Raising keeps the enrollment's finalizer in place, so the data is never orphaned: the
    handlers retry until the server answers.
    """
    if not settings.configured:
        ctx.record_event(
            "Warning",
            "DatabaseNotCleaned",
            "STUDENT_DB_ADMIN_URL is not set: the student's schema and role were not removed",
        )
        return
    target = _target(ctx, settings)
    now = clock.now()
    keep = settings.keep_data_on_delete
    result = await pool.run(
        lambda connection: adapter.teardown(connection, target, keep, now, pool.connect_to)
    )
    for warning in result.warnings:
        ctx.record_event("Warning", "DatabaseNotCleaned", warning)
    if result.retained_as is not None:
        kept_schema, kept_role = result.retained_as
        ctx.record_event(
            "Normal",
            "DatabaseRetained",
            f"schema {target.schema} kept as {kept_schema or '(not owned, left alone)'}, "
            f"role {target.role} kept as {kept_role} (login disabled)",
        )
    elif result.transactions:
        ctx.record_event(
            "Normal", "DatabaseDropped", f"dropped schema {target.schema} and role {target.role}"
        )
