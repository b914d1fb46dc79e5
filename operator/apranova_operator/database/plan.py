"""What to run on the server, decided from what is there: pure functions, no connection.

The adapter observes the role and the schema (:class:`Observed`), these functions decide the
statements, and the adapter runs them. Every identifier goes through ``sql.Identifier`` and every
value through ``sql.Literal``: no name or value is ever formatted into SQL text.

A role is only ever altered, dropped or renamed when its comment marks it as this operator's role
for this student, and a schema only when that role owns it. A same-named role or schema someone
else created is reported, never taken over.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from psycopg2 import sql

from apranova_contract import names

HARDENING_LOCK = "apranova-operator:student-database"
"""Name of the advisory lock that serialises the operator's catalog changes (``hashtext`` of it).

Concurrent ``GRANT``/``REVOKE`` on the same database fail with "tuple concurrently updated", so
every transaction of this step takes the lock first, across threads and operator replicas.
"""

_RETAINED_INFIX = "_deleted_"


@dataclass(frozen=True)
class StudentDatabase:
    """The names of one student's role and schema, and the database that holds them."""

    username: str
    role: str
    schema: str
    database: str

    @classmethod
    def for_student(cls, username: str, database: str) -> StudentDatabase:
        return cls(
            username=username,
            role=names.role_name(username),
            schema=names.schema_name(username),
            database=database,
        )


@dataclass(frozen=True)
class RoleLimits:
    connection_limit: int
    statement_timeout: str


@dataclass(frozen=True)
class RoleState:
    """What ``pg_roles`` says about an existing role."""

    superuser: bool
    replication: bool
    bypass_rls: bool
    comment: str | None


@dataclass(frozen=True)
class Observed:
    role: RoleState | None
    schema_owner: str | None


@dataclass(frozen=True)
class Refusal:
    """The server holds something that is not ours or not safe; a condition reason and message."""

    reason: str
    message: str


@dataclass(frozen=True)
class Teardown:
    """Transactions to run in order, warnings to record, and the retained names if kept."""

    transactions: list[list[sql.Composable]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    retained_as: tuple[str, str] | None = None


def ownership_comment(username: str) -> str:
    """The comment that marks a role as this operator's role for ``username``."""
    return f"managed by apranova-operator for student {username}"


def observe_role_query(target: StudentDatabase) -> sql.Composed:
    return sql.SQL(
        "SELECT rolsuper, rolreplication, rolbypassrls, shobj_description(oid, 'pg_authid') "
        "FROM pg_roles WHERE rolname = {}"
    ).format(sql.Literal(target.role))


def observe_schema_query(target: StudentDatabase) -> sql.Composed:
    return sql.SQL("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = {}").format(
        sql.Literal(target.schema)
    )


def lock_statement() -> sql.Composed:
    return sql.SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(sql.Literal(HARDENING_LOCK))


def hardening_statements(database: str) -> list[sql.Composable]:
    """Close the database and its ``public`` schema to everyone not granted explicitly.

    ``PUBLIC`` loses ``CONNECT``/``TEMPORARY`` on the database and every right in ``public``;
    each student role is then granted ``CONNECT`` alone. Both statements are no-ops when repeated.
    """
    return [
        sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)),
        sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC"),
    ]


def public_access_query() -> sql.SQL:
    """Whether ``PUBLIC`` still holds rights on this database or on its ``public`` schema.

    A ``REVOKE`` by a role that does not own the object only warns, so hardening is verified
    rather than assumed. A NULL database ACL means the defaults, which include ``PUBLIC``.
    """
    return sql.SQL(
        "SELECT (SELECT datacl IS NULL OR EXISTS (SELECT FROM aclexplode(datacl) WHERE grantee = 0)"
        " FROM pg_database WHERE datname = current_database()),"
        " coalesce((SELECT EXISTS (SELECT FROM aclexplode(nspacl) WHERE grantee = 0)"
        " FROM pg_namespace WHERE nspname = 'public'), false)"
    )


def open_to_public(database: str, database_open: bool, public_schema_open: bool) -> Refusal | None:
    """A refusal when hardening did not take: students would not be isolated."""
    if not (database_open or public_schema_open):
        return None
    where = " and ".join(
        place
        for place, is_open in (
            (f"database {database}", database_open),
            ("schema public", public_schema_open),
        )
        if is_open
    )
    return Refusal(
        "DatabaseNotHardened",
        f"PUBLIC still has rights on {where}; the admin role must own the database",
    )


def _refusal(target: StudentDatabase, observed: Observed) -> Refusal | None:
    role = observed.role
    if role is not None and role.comment != ownership_comment(target.username):
        return Refusal(
            "RoleConflict",
            f"role {target.role} exists but was not created by the operator for this student",
        )
    if role is not None and (role.superuser or role.replication or role.bypass_rls):
        return Refusal(
            "UnsafeRole",
            f"role {target.role} has superuser, replication or bypassrls; "
            "an administrator must remove it",
        )
    if observed.schema_owner is not None and observed.schema_owner != target.role:
        return Refusal(
            "SchemaConflict",
            f"schema {target.schema} exists and is owned by another role",
        )
    return None


def provision_plan(
    target: StudentDatabase, limits: RoleLimits, verifier: str, observed: Observed
) -> list[sql.Composable] | Refusal:
    """The statements that bring the role and schema to the desired state, or why not.

    ``NOSUPERUSER``/``NOREPLICATION``/``NOBYPASSRLS`` appear only in ``CREATE ROLE``: PostgreSQL
    lets only superusers name them in ``ALTER ROLE``, and :func:`_refusal` already stops on an
    existing role that has them.
    """
    refusal = _refusal(target, observed)
    if refusal is not None:
        return refusal
    role, schema = sql.Identifier(target.role), sql.Identifier(target.schema)
    common = sql.SQL(
        "LOGIN NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT {} PASSWORD {}"
    ).format(sql.Literal(limits.connection_limit), sql.Literal(verifier))
    if observed.role is None:
        statements: list[sql.Composable] = [
            sql.SQL("CREATE ROLE {} WITH NOSUPERUSER NOREPLICATION NOBYPASSRLS {}").format(
                role, common
            ),
            sql.SQL("COMMENT ON ROLE {} IS {}").format(
                role, sql.Literal(ownership_comment(target.username))
            ),
        ]
    else:
        statements = [sql.SQL("ALTER ROLE {} WITH {}").format(role, common)]
    return [
        *statements,
        sql.SQL("ALTER ROLE {} SET search_path = {}").format(role, schema),
        sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
            role, sql.Literal(limits.statement_timeout)
        ),
        sql.SQL("GRANT {} TO CURRENT_USER").format(role),
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(schema, role),
        sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(schema),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(target.database), role),
    ]


def retained_identifier(name: str, when: datetime) -> str:
    """``<name>_deleted_<YYYYmmddHHMMSS>``, shortened with a hash to stay within 63 bytes."""
    suffix = f"{_RETAINED_INFIX}{when:%Y%m%d%H%M%S}"
    if len(name) + len(suffix) <= names.PG_IDENTIFIER_MAX_BYTES:
        return name + suffix
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    room = names.PG_IDENTIFIER_MAX_BYTES - len(suffix) - len(digest) - 1
    return f"{name[:room]}_{digest}{suffix}"


def _disconnect(target: StudentDatabase) -> list[list[sql.Composable]]:
    """Forbid new logins (committed first), then end the role's open sessions."""
    return [
        [sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(target.role))],
        [
            sql.SQL(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = {} AND pid <> pg_backend_pid()"
            ).format(sql.Literal(target.role))
        ],
    ]


def teardown_plan(
    target: StudentDatabase, observed: Observed, keep_data: bool, now: datetime
) -> Teardown:
    """Drop (or, with ``keep_data``, rename and lock) the student's schema and role."""
    if observed.role is None and observed.schema_owner is None:
        return Teardown()
    refusal = _refusal(target, observed)
    if observed.role is None or (refusal is not None and refusal.reason == "RoleConflict"):
        return Teardown(
            warnings=[
                f"left role {target.role} and schema {target.schema} alone: "
                "they were not created by the operator for this student"
            ]
        )
    role, schema = sql.Identifier(target.role), sql.Identifier(target.schema)
    owns_schema = observed.schema_owner == target.role
    warnings = (
        [f"left schema {target.schema} alone: it is owned by another role"]
        if observed.schema_owner is not None and not owns_schema
        else []
    )
    if keep_data:
        kept_role = retained_identifier(target.role, now)
        kept_schema = retained_identifier(target.schema, now)
        final: list[sql.Composable] = []
        if owns_schema:
            final.append(
                sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(schema, sql.Identifier(kept_schema))
            )
        final += [
            sql.SQL("ALTER ROLE {} RENAME TO {}").format(role, sql.Identifier(kept_role)),
            sql.SQL("REVOKE CONNECT ON DATABASE {} FROM {}").format(
                sql.Identifier(target.database), sql.Identifier(kept_role)
            ),
            sql.SQL("COMMENT ON ROLE {} IS {}").format(
                sql.Identifier(kept_role),
                sql.Literal(f"retained by apranova-operator for student {target.username}"),
            ),
        ]
        return Teardown(
            transactions=[*_disconnect(target), final],
            warnings=warnings,
            retained_as=(kept_schema if owns_schema else "", kept_role),
        )
    final = [sql.SQL("DROP SCHEMA {} CASCADE").format(schema)] if owns_schema else []
    final += [
        sql.SQL("DROP OWNED BY {}").format(role),
        sql.SQL("DROP ROLE {}").format(role),
    ]
    return Teardown(transactions=[*_disconnect(target), final], warnings=warnings)
