"""Whatever a student does with their own credentials, dropping their role completes.

A real PostgreSQL server and a non-superuser admin role. The students act as students would:
with the password of their Secret, in the student database and in ``postgres`` (which ``PUBLIC``
may enter by default).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql

from apranova_operator.database import adapter
from apranova_operator.database.credentials import generate_password
from apranova_operator.database.settings import parse_admin_url
from tests.e2e.test_database_adapter import Server, student_data_server

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

SUFFIX = secrets.token_hex(3)


@pytest.fixture(scope="module")
def server(postgres_server: Any) -> Iterator[Server]:
    with student_data_server(postgres_server, f"cl{SUFFIX}") as found:
        yield found


def student(server: Server, name: str) -> tuple[str, str]:
    username, password = f"{name}-{SUFFIX}", generate_password()
    assert server.provision(username, password) is None
    return username, password


def login_to(
    server: Server, username: str, password: str, database: str
) -> psycopg2.extensions.connection:
    """The student's own credentials, but another database of the server."""
    parameters = parse_admin_url(server.credentials(username, password)["libpq_url"])
    connection = psycopg2.connect(**parameters | {"dbname": database})
    connection.autocommit = True
    return connection


def run_as(server: Server, username: str, password: str, database: str, *statements: str) -> None:
    connection = login_to(server, username, password, database)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    connection.close()


def role_exists(server: Server, username: str) -> bool:
    role = server.target(username).role
    return server.one("SELECT count(*) FROM pg_roles WHERE rolname = %s", role) == (1,)


def schema_exists(server: Server, username: str) -> bool:
    schema = server.target(username).schema
    return server.one("SELECT count(*) FROM pg_namespace WHERE nspname = %s", schema) == (1,)


def test_default_privileges_in_postgres_do_not_block_deletion(server: Server) -> None:
    username, password = student(server, "defaults")
    run_as(
        server,
        username,
        password,
        "postgres",
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC",
    )
    role = server.target(username).role
    assert server.one(
        "SELECT count(*) FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid "
        "WHERE d.datname = 'postgres' AND s.refobjid = (SELECT oid FROM pg_roles "
        "WHERE rolname = %s)",
        role,
    ) == (1,)
    steps = server.teardown(username)
    assert steps.release_elsewhere
    assert not role_exists(server, username)
    assert not schema_exists(server, username)


def test_grants_between_students_and_own_objects_do_not_block_deletion(server: Server) -> None:
    giver, giver_password = student(server, "giver")
    taker, taker_password = student(server, "taker")
    giver_schema = server.target(giver).schema
    taker_role = server.target(taker).role
    run_as(
        server,
        giver,
        giver_password,
        server.database,
        "CREATE TABLE notes (body text)",
        "CREATE VIEW recent AS SELECT body FROM notes",
        "CREATE SEQUENCE counter",
        "CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql AS 'SELECT 2 * x'",
        "CREATE TYPE mood AS ENUM ('ok', 'great')",
        f'GRANT USAGE ON SCHEMA "{giver_schema}" TO "{taker_role}"',
        f'GRANT SELECT ON notes TO "{taker_role}"',
        f'ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO "{taker_role}"',
    )
    run_as(
        server,
        giver,
        giver_password,
        "postgres",
        f'ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO "{taker_role}"',
    )
    run_as(server, taker, taker_password, server.database, f'SELECT * FROM "{giver_schema}".notes')

    server.teardown(taker)
    assert not role_exists(server, taker)
    assert role_exists(server, giver)
    server.teardown(giver)
    assert not role_exists(server, giver)
    assert not schema_exists(server, giver)


def _as_superuser(server: Server, statement: sql.Composable) -> None:
    connection = server.superuser()
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def test_what_the_admin_cannot_remove_is_named_then_cleanup_completes(
    server: Server, postgres_server: Any
) -> None:
    """Two things only an administrator can fix: a database closed to the admin after the
    student left default privileges there, and a grant a superuser gave the student."""
    username, password = student(server, "locked")
    role = sql.Identifier(server.target(username).role)
    admin = sql.Identifier(parse_admin_url(server.admin_url)["user"])
    name = f"closed_{SUFFIX}"
    database = sql.Identifier(name)
    postgres_server.create_database(name)
    try:
        run_as(
            server,
            username,
            password,
            name,
            "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC",
        )
        _as_superuser(server, sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(database))
        with pytest.raises(adapter.CleanupBlocked) as blocked:
            server.teardown(username)
        message = str(blocked.value)
        assert f"database {name}" in message and "CONNECT" in message
        assert server.target(username).role in message
        assert role_exists(server, username)

        _as_superuser(server, sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, admin))
        _as_superuser(
            server, sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(database, role)
        )
        with pytest.raises(adapter.CleanupBlocked) as blocked:
            server.teardown(username)
        message = str(blocked.value)
        assert f"privileges for database {name}" in message and "superuser" in message
        assert role_exists(server, username)

        _as_superuser(server, sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(database, role))
        server.teardown(username)
        assert not role_exists(server, username)
        assert not schema_exists(server, username)
    finally:
        _as_superuser(server, sql.SQL("DROP DATABASE {} WITH (FORCE)").format(database))
