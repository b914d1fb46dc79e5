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
from datetime import UTC, datetime
from functools import cache
from time import monotonic

import psycopg2

from apranova import names
from apranova_operator.database import adapter
from apranova_operator.database.credentials import (
    SECRET_NAME,
    generate_password,
    scram_verifier,
    secret_data,
    stored_password,
)
from apranova_operator.database.plan import Refusal, RoleLimits, StudentDatabase
from apranova_operator.database.settings import load_settings
from apranova_operator.steps import StepContext, StepResult

CONDITION_TYPE = "DatabaseReady"
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 300.0
_MESSAGE_LIMIT = 300

log = logging.getLogger(__name__)
_failing_since: dict[str, float] = {}
"""Per enrollment uid: when (``monotonic()``) the current run of failures began."""


def validate_settings() -> None:
    """Read the ``STUDENT_DB_*`` settings once; raises with a message naming each bad variable."""
    load_settings()


@cache
def admin_pool() -> adapter.AdminPool:
    """The process's one admin pool (created on first use, so tests can set the environment)."""
    settings = load_settings()
    return adapter.AdminPool(settings.admin_parameters(), settings.pool_size)


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


def _status(schema: str, ready: bool) -> dict[str, dict[str, object]]:
    return {"database": {"schema": schema, "secretName": SECRET_NAME, "ready": ready}}


def _failed(ctx: StepContext, schema: str, reason: str, message: str) -> StepResult:
    now = monotonic()
    since = _failing_since.setdefault(ctx.enrollment_uid, now)
    log.warning("database step for %s not ready: %s: %s", ctx.enrollment_name, reason, message)
    return StepResult(
        condition_type=CONDITION_TYPE,
        ready=False,
        reason=reason,
        message=message,
        status_patch=_status(schema, False),
        retry_after=retry_delay(now - since),
    )


def _target(ctx: StepContext) -> StudentDatabase:
    return StudentDatabase.for_student(ctx.enrollment_name, load_settings().database_name())


async def reconcile(ctx: StepContext) -> StepResult:
    """Ensure the student's role, schema and ``student-database`` Secret exist and agree."""
    settings = load_settings()
    schema = names.schema_name(ctx.enrollment_name)
    if not settings.configured:
        return _failed(ctx, schema, "NotConfigured", "STUDENT_DB_ADMIN_URL is not set")
    target = _target(ctx)
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
        refusal = await admin_pool().run(
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
    _failing_since.pop(ctx.enrollment_uid, None)
    return StepResult(
        condition_type=CONDITION_TYPE,
        ready=True,
        reason="SchemaReady",
        message=f"schema {target.schema} and role {target.role} are ready",
        status_patch=_status(target.schema, True),
    )


async def cleanup(ctx: StepContext) -> None:
    """Drop the student's schema and role (or retain them); raises while the server is away.

    Raising keeps the enrollment's finalizer in place, so the data is never orphaned: the
    handlers retry until the server answers.
    """
    _failing_since.pop(ctx.enrollment_uid, None)
    settings = load_settings()
    if not settings.configured:
        ctx.record_event(
            "Warning",
            "DatabaseNotCleaned",
            "STUDENT_DB_ADMIN_URL is not set: the student's schema and role were not removed",
        )
        return
    target = _target(ctx)
    now = datetime.now(UTC)
    keep = settings.keep_data_on_delete
    result = await admin_pool().run(
        lambda connection: adapter.teardown(connection, target, keep, now)
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
