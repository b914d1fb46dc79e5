"""The SQL plan: identifiers always quoted by the driver, safe decisions from what is observed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from psycopg2 import sql

from apranova_contract import names
from apranova_operator.database.plan import (
    Observed,
    Refusal,
    RoleLimits,
    RoleState,
    StudentDatabase,
    hardening_statements,
    open_to_public,
    ownership_comment,
    provision_plan,
    retained_identifier,
    teardown_plan,
)

HOSTILE_USERNAMES = [
    'robert"; DROP TABLE students; --',
    "o'brien",
    "semi;colon",
    "zoë-ünïcødé",
    "学生",
    "😀",
    "a" * 500,
    "Ada",
    "ada_lovelace",
    "",
]
LIMITS = RoleLimits(connection_limit=7, statement_timeout="30s")
NOW = datetime(2026, 11, 29, 6, 30, 0, tzinfo=UTC)
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def sql_text(statement: sql.Composable) -> str:
    """Only the parts written as SQL text: what would be injectable if a name leaked into it."""
    if isinstance(statement, sql.Composed):
        return "".join(sql_text(part) for part in statement.seq)
    return statement.string if isinstance(statement, sql.SQL) else "?"


def render(statement: sql.Composable) -> str:
    """The statement as PostgreSQL would read it (quoting as the driver does, for ASCII)."""
    if isinstance(statement, sql.Composed):
        return "".join(render(part) for part in statement.seq)
    if isinstance(statement, sql.SQL):
        return statement.string
    if isinstance(statement, sql.Identifier):
        return ".".join('"' + part.replace('"', '""') + '"' for part in statement.strings)
    assert isinstance(statement, sql.Literal)
    value = statement.wrapped
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


def target(username: str = "ada") -> StudentDatabase:
    return StudentDatabase.for_student(username, "student_data")


def ours(username: str = "ada") -> RoleState:
    return RoleState(False, False, False, ownership_comment(username))


@pytest.mark.parametrize("username", HOSTILE_USERNAMES)
def test_names_are_valid_short_identifiers(username: str) -> None:
    database = target(username)
    assert database.role == database.schema
    assert _IDENTIFIER.match(database.schema), database.schema
    assert len(database.schema.encode("utf-8")) <= names.PG_IDENTIFIER_MAX_BYTES


def test_names_are_unique_per_student() -> None:
    produced = {target(username).schema for username in HOSTILE_USERNAMES}
    assert len(produced) == len(HOSTILE_USERNAMES)
    assert target("ada-l").schema != target("ada_l").schema


@pytest.mark.parametrize("username", HOSTILE_USERNAMES)
def test_no_user_input_reaches_sql_text(username: str) -> None:
    database = target(username)
    verifier = "SCRAM-SHA-256$4096:c2FsdA==$a2V5:a2V5"
    statements = provision_plan(database, LIMITS, verifier, Observed(None, None))
    assert isinstance(statements, list)
    teardown = teardown_plan(database, Observed(ours(username), database.role), False, NOW)
    every = [*statements, *hardening_statements(database.database)]
    every += [s for transaction in teardown.transactions for s in transaction]
    for statement in every:
        text = sql_text(statement)
        assert database.schema not in text
        assert verifier not in text
        if username:
            assert username not in text


def test_new_role_is_created_without_rights_and_owns_its_schema() -> None:
    statements = provision_plan(target(), LIMITS, "VERIFIER", Observed(None, None))
    assert isinstance(statements, list)
    rendered = [render(s) for s in statements]
    assert rendered == [
        'CREATE ROLE "stu_ada" WITH NOSUPERUSER NOREPLICATION NOBYPASSRLS '
        "LOGIN NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT 7 PASSWORD 'VERIFIER'",
        "COMMENT ON ROLE \"stu_ada\" IS 'managed by apranova-operator for student ada'",
        'ALTER ROLE "stu_ada" SET search_path = "stu_ada"',
        "ALTER ROLE \"stu_ada\" SET statement_timeout = '30s'",
        'GRANT "stu_ada" TO CURRENT_USER',
        'CREATE SCHEMA IF NOT EXISTS "stu_ada" AUTHORIZATION "stu_ada"',
        'REVOKE ALL ON SCHEMA "stu_ada" FROM PUBLIC',
        'GRANT CONNECT ON DATABASE "student_data" TO "stu_ada"',
    ]


def test_existing_role_is_altered_not_recreated() -> None:
    statements = provision_plan(target(), LIMITS, "VERIFIER", Observed(ours(), "stu_ada"))
    assert isinstance(statements, list)
    first = render(statements[0])
    assert first.startswith('ALTER ROLE "stu_ada" WITH LOGIN NOCREATEDB')
    assert "NOSUPERUSER" not in first
    assert not any(render(s).startswith("CREATE ROLE") for s in statements)


def test_hardening_closes_database_and_public_schema() -> None:
    assert [render(s) for s in hardening_statements("student_data")] == [
        'REVOKE ALL ON DATABASE "student_data" FROM PUBLIC',
        "REVOKE ALL ON SCHEMA public FROM PUBLIC",
    ]


@pytest.mark.parametrize(
    ("observed", "reason"),
    [
        (Observed(RoleState(False, False, False, None), None), "RoleConflict"),
        (Observed(RoleState(False, False, False, ownership_comment("bob")), None), "RoleConflict"),
        (Observed(RoleState(True, False, False, ownership_comment("ada")), None), "UnsafeRole"),
        (Observed(RoleState(False, True, False, ownership_comment("ada")), None), "UnsafeRole"),
        (Observed(RoleState(False, False, True, ownership_comment("ada")), None), "UnsafeRole"),
        (Observed(None, "postgres"), "SchemaConflict"),
        (Observed(ours(), "postgres"), "SchemaConflict"),
    ],
)
def test_foreign_or_unsafe_objects_are_refused(observed: Observed, reason: str) -> None:
    result = provision_plan(target(), LIMITS, "VERIFIER", observed)
    assert isinstance(result, Refusal)
    assert result.reason == reason


def test_teardown_of_nothing_does_nothing() -> None:
    assert teardown_plan(target(), Observed(None, None), False, NOW).transactions == []


def test_teardown_leaves_foreign_role_alone() -> None:
    foreign = Observed(RoleState(False, False, False, "someone else's"), "stu_ada")
    teardown = teardown_plan(target(), foreign, False, NOW)
    assert teardown.transactions == []
    assert teardown.warnings


def test_teardown_disconnects_then_drops() -> None:
    teardown = teardown_plan(target(), Observed(ours(), "stu_ada"), False, NOW)
    rendered = [[render(s) for s in transaction] for transaction in teardown.transactions]
    assert rendered == [
        ['ALTER ROLE "stu_ada" NOLOGIN'],
        [
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE usename = 'stu_ada' AND pid <> pg_backend_pid()"
        ],
        ['DROP SCHEMA "stu_ada" CASCADE', 'DROP OWNED BY "stu_ada"', 'DROP ROLE "stu_ada"'],
    ]
    assert teardown.retained_as is None


def test_teardown_keeps_schema_it_does_not_own() -> None:
    teardown = teardown_plan(target(), Observed(ours(), "postgres"), False, NOW)
    final = [render(s) for s in teardown.transactions[-1]]
    assert not any("DROP SCHEMA" in s for s in final)
    assert teardown.warnings


def test_teardown_keeping_data_renames_and_locks() -> None:
    teardown = teardown_plan(target(), Observed(ours(), "stu_ada"), True, NOW)
    assert teardown.retained_as == (
        "stu_ada_deleted_20261129063000",
        "stu_ada_deleted_20261129063000",
    )
    final = [render(s) for s in teardown.transactions[-1]]
    assert final[0] == 'ALTER SCHEMA "stu_ada" RENAME TO "stu_ada_deleted_20261129063000"'
    assert final[1] == 'ALTER ROLE "stu_ada" RENAME TO "stu_ada_deleted_20261129063000"'
    assert not any("DROP" in s for s in final)
    assert render(teardown.transactions[0][0]) == 'ALTER ROLE "stu_ada" NOLOGIN'


def test_retained_identifier_fits_and_stays_distinct() -> None:
    long_a = names.schema_name("a" * 39 + "b")
    long_b = names.schema_name("a" * 39 + "c")
    kept_a, kept_b = retained_identifier(long_a, NOW), retained_identifier(long_b, NOW)
    assert len(kept_a) <= names.PG_IDENTIFIER_MAX_BYTES
    assert kept_a != kept_b
    assert kept_a.endswith("_deleted_20261129063000")


def test_hardening_that_did_not_take_is_a_refusal() -> None:
    assert open_to_public("student_data", False, False) is None
    refusal = open_to_public("student_data", True, False)
    assert refusal is not None and refusal.reason == "DatabaseNotHardened"
    assert "database student_data" in refusal.message and "schema public" not in refusal.message
    assert "schema public" in open_to_public("student_data", False, True).message
