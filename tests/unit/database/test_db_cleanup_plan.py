"""Dropping a role also clears what it holds in other databases of the server."""

from __future__ import annotations

from apranova_operator.database.plan import (
    Observed,
    other_databases_query,
    release_statements,
    teardown_plan,
    unreachable_database_message,
)
from tests.unit.database.test_db_plan import NOW, ours, render, target


def test_dropping_releases_other_databases_before_the_last_transaction() -> None:
    assert teardown_plan(target(), Observed(ours(), "stu_ada"), False, NOW).release_elsewhere


def test_keeping_or_nothing_to_do_touches_no_other_database() -> None:
    assert not teardown_plan(target(), Observed(ours(), "stu_ada"), True, NOW).release_elsewhere
    assert not teardown_plan(target(), Observed(None, None), False, NOW).release_elsewhere


def test_other_databases_are_found_in_the_shared_dependencies_by_literal_role() -> None:
    query = render(other_databases_query(target('x"; DROP ROLE admin; --')))
    assert "pg_shdepend" in query and "current_database()" in query
    assert "rolname = 'stx_" in query and "DROP ROLE admin" not in query.split("rolname")[0]


def test_release_drops_what_the_role_owns_and_holds() -> None:
    assert [render(s) for s in release_statements(target())] == ['DROP OWNED BY "stu_ada" CASCADE']


def test_unreachable_database_message_says_how_to_unblock() -> None:
    message = unreachable_database_message(target(), "postgres", "no CONNECT privilege")
    assert "stu_ada" in message and "database postgres" in message
    assert "GRANT" not in message.split("(")[0] and "DROP OWNED BY stu_ada" in message
