"""The database step against a real PostgreSQL server, with an admin role that is no superuser.

Roles are global to the server, so every username here carries this module's random suffix and
everything created is dropped at the end.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg2
import psycopg2.errors
import pytest
from psycopg2 import sql

from apranova_contract import names
from apranova_operator.database import adapter, step
from apranova_operator.database.credentials import (
    SECRET_NAME,
    generate_password,
    scram_verifier,
    secret_data,
)
from apranova_operator.database.plan import Refusal, RoleLimits, StudentDatabase
from apranova_operator.database.settings import (
    DatabaseSettings,
    Endpoint,
    load_settings,
    parse_admin_url,
)
from apranova_operator.steps import StepContext

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

SUFFIX = secrets.token_hex(3)
LIMITS = RoleLimits(connection_limit=4, statement_timeout="45s")
HOSTILE = [
    f'robert"; DROP TABLE students; --{SUFFIX}',
    f"o'brien{SUFFIX}",
    f"semi;colon;{SUFFIX}",
    f"zoë-ünïcødé-学生-😀-{SUFFIX}",
    ("x" * 300) + SUFFIX,
]


@dataclass
class Server:
    """The test database, its non-superuser admin role, and a superuser for inspection."""

    superuser_url: str
    admin_url: str
    database: str
    endpoint: Endpoint
    pool: adapter.AdminPool

    def superuser(self) -> psycopg2.extensions.connection:
        connection = psycopg2.connect(**parse_admin_url(self.superuser_url))
        connection.autocommit = True
        return connection

    def target(self, username: str) -> StudentDatabase:
        return StudentDatabase.for_student(username, self.database)

    def provision(self, username: str, password: str) -> Refusal | None:
        target = self.target(username)
        verifier = scram_verifier(password, target.role)
        return asyncio.run(self.pool.run(lambda c: adapter.provision(c, target, LIMITS, verifier)))

    def teardown(self, username: str, keep: bool = False) -> Any:
        target, now = self.target(username), datetime.now(UTC)
        return asyncio.run(self.pool.run(lambda c: adapter.teardown(c, target, keep, now)))

    def credentials(self, username: str, password: str) -> dict[str, str]:
        target = self.target(username)
        return secret_data(self.endpoint, self.database, target.role, target.schema, password)

    def login(self, username: str, password: str) -> psycopg2.extensions.connection:
        connection = psycopg2.connect(self.credentials(username, password)["libpq_url"])
        connection.autocommit = True
        return connection

    def one(self, query: sql.Composable | str, *args: Any) -> Any:
        with self.superuser() as connection, connection.cursor() as cursor:
            cursor.execute(query, args or None)
            row = cursor.fetchone()
        connection.close()
        return row


@contextmanager
def student_data_server(postgres_server: Any, suffix: str) -> Iterator[Server]:
    """A fresh database owned by a non-superuser ``CREATEROLE`` admin; all dropped afterwards.

    Everything whose name or comment holds ``suffix`` (admin, student and retained roles) is
    dropped with the database at the end.
    """
    database = f"students_{suffix}"
    admin_role, admin_password = f"apranova_admin_{suffix}", generate_password()
    superuser_url = postgres_server.create_database(database)
    with psycopg2.connect(**parse_admin_url(superuser_url)) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                    sql.Identifier(admin_role), sql.Literal(admin_password)
                )
            )
            cursor.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(database), sql.Identifier(admin_role)
                )
            )
            cursor.execute(sql.SQL("CREATE TABLE public.platform_notes (note text)"))
    connection.close()
    admin_url = (
        f"postgresql+psycopg2://{admin_role}:{admin_password}@{postgres_server.host}:"
        f"{postgres_server.port}/{database}"
    )
    pool = adapter.AdminPool(parse_admin_url(admin_url) | {"connect_timeout": "5"}, size=2)
    found = Server(
        superuser_url,
        admin_url,
        database,
        Endpoint(postgres_server.host, postgres_server.port),
        pool,
    )
    yield found
    pool.close()
    maintenance = psycopg2.connect(**parse_admin_url(superuser_url) | {"dbname": "postgres"})
    maintenance.autocommit = True
    with maintenance.cursor() as cursor:
        cursor.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %(mark)s "
            "OR shobj_description(oid, 'pg_authid') LIKE %(mark)s",
            {"mark": f"%{suffix}%"},
        )
        leftovers = [row[0] for row in cursor.fetchall()]
        cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
        for role in leftovers:
            cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    maintenance.close()


@pytest.fixture(scope="module")
def server(postgres_server: Any) -> Iterator[Server]:
    with student_data_server(postgres_server, SUFFIX) as found:
        yield found


def user(name: str) -> str:
    return f"{name}-{SUFFIX}"


def test_admin_role_is_not_a_superuser(server: Server) -> None:
    admin = parse_admin_url(server.admin_url)["user"]
    assert server.one("SELECT rolsuper FROM pg_roles WHERE rolname = %s", admin) == (False,)


def test_student_gets_a_locked_down_role_that_lands_in_its_schema(server: Server) -> None:
    username, password = user("ada"), generate_password()
    assert server.provision(username, password) is None
    target = server.target(username)
    row = server.one(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls, "
        "rolcanlogin, rolconnlimit, rolconfig FROM pg_roles WHERE rolname = %s",
        target.role,
    )
    assert row[:8] == (False, False, False, False, False, False, True, 4)
    assert sorted(row[8]) == [f"search_path={target.schema}", "statement_timeout=45s"]
    assert server.one(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", target.schema
    ) == (target.role,)
    assert server.one("SELECT rolpassword FROM pg_authid WHERE rolname = %s", target.role) == (
        scram_verifier(password, target.role),
    )
    with server.login(username, password) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, current_schema(), current_setting('statement_timeout')"
        )
        assert cursor.fetchone() == (target.role, target.schema, "45s")
        cursor.execute("CREATE TABLE scores (student text, points int)")
        cursor.execute("INSERT INTO scores VALUES ('ada', 10)")
        cursor.execute(
            sql.SQL("SELECT points FROM {}.scores").format(sql.Identifier(target.schema))
        )
        assert cursor.fetchone() == (10,)
    connection.close()
    with pytest.raises(psycopg2.OperationalError):
        server.login(username, "wrong-" + password)


def _denied(connection: psycopg2.extensions.connection, statement: sql.Composable) -> bool:
    with connection.cursor() as cursor:
        try:
            cursor.execute(statement)
        except psycopg2.errors.InsufficientPrivilege:
            return True
    return False


def test_students_cannot_touch_each_other_or_public(server: Server) -> None:
    alice, bob = user("alice"), user("bob")
    alice_password, bob_password = generate_password(), generate_password()
    assert server.provision(alice, alice_password) is None
    assert server.provision(bob, bob_password) is None
    alice_schema = sql.Identifier(server.target(alice).schema)
    with server.login(alice, alice_password) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE secrets_of_alice (note text)")
        cursor.execute("INSERT INTO secrets_of_alice VALUES ('mine')")
    connection.close()
    bob_connection = server.login(bob, bob_password)
    attempts = [
        sql.SQL("SELECT * FROM {}.secrets_of_alice").format(alice_schema),
        sql.SQL("INSERT INTO {}.secrets_of_alice VALUES ('bob was here')").format(alice_schema),
        sql.SQL("CREATE TABLE {}.planted (x int)").format(alice_schema),
        sql.SQL("DROP TABLE {}.secrets_of_alice").format(alice_schema),
        sql.SQL("CREATE TABLE public.planted (x int)"),
        sql.SQL("SELECT * FROM public.platform_notes"),
        sql.SQL("CREATE SCHEMA bobs_second_schema"),
        sql.SQL("CREATE TEMPORARY TABLE scratch (x int)"),
        sql.SQL("SET ROLE {}").format(sql.Identifier(server.target(alice).role)),
    ]
    denied = [_denied(bob_connection, attempt) for attempt in attempts]
    bob_connection.close()
    assert denied == [True] * len(attempts)
    assert server.one(sql.SQL("SELECT note FROM {}.secrets_of_alice").format(alice_schema)) == (
        "mine",
    )


def test_roles_without_a_grant_cannot_connect(server: Server) -> None:
    outsider, password = f"outsider_{SUFFIX}", generate_password()
    with server.superuser() as connection, connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(outsider), sql.Literal(password)
            )
        )
    connection.close()
    parameters = parse_admin_url(server.admin_url) | {"user": outsider, "password": password}
    with pytest.raises(psycopg2.OperationalError, match="permission denied for database"):
        psycopg2.connect(**parameters)


@pytest.mark.parametrize("username", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_usernames_provision_log_in_and_drop(server: Server, username: str) -> None:
    password = generate_password()
    target = server.target(username)
    assert target.schema == names.schema_name(username)
    assert server.provision(username, password) is None
    with server.login(username, password) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        assert cursor.fetchone() == (target.schema,)
    connection.close()
    server.teardown(username)
    assert server.one("SELECT count(*) FROM pg_roles WHERE rolname = %s", target.role) == (0,)
    assert server.one("SELECT to_regclass('public.platform_notes') IS NOT NULL") == (True,)


def _snapshot(server: Server, target: StudentDatabase) -> tuple[Any, ...]:
    return (
        server.one(
            "SELECT a.oid, a.rolpassword, r.rolconfig, r.rolconnlimit, r.rolcanlogin "
            "FROM pg_authid a JOIN pg_roles r ON r.oid = a.oid WHERE a.rolname = %s",
            target.role,
        ),
        server.one("SELECT oid, nspacl::text FROM pg_namespace WHERE nspname = %s", target.schema),
        server.one("SELECT datacl::text FROM pg_database WHERE datname = %s", target.database),
        server.one("SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'"),
        server.one(
            "SELECT count(*) FROM pg_auth_members WHERE roleid = "
            "(SELECT oid FROM pg_roles WHERE rolname = %s)",
            target.role,
        ),
    )


def test_provisioning_twice_changes_nothing(server: Server) -> None:
    username, password = user("twice"), generate_password()
    target = server.target(username)
    assert server.provision(username, password) is None
    with server.login(username, password) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE kept (x int)")
    connection.close()
    before = _snapshot(server, target)
    assert server.provision(username, password) is None
    assert _snapshot(server, target) == before
    assert server.one(
        sql.SQL("SELECT count(*) FROM {}.kept").format(sql.Identifier(target.schema))
    ) == (0,)


class MemorySecrets:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, str]] = {}

    async def read(self, namespace: str, name: str) -> dict[str, str] | None:
        return dict(self.data[name]) if name in self.data else None

    async def write(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        self.data[name] = dict(data)


@pytest.fixture
def configured_step(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[StepConfig]:
    monkeypatch.setenv("STUDENT_DB_ADMIN_URL", server.admin_url)
    monkeypatch.setenv("STUDENT_DB_CONNECTION_LIMIT", "3")
    settings = load_settings()
    pool = step.admin_pool(settings)
    yield StepConfig(settings, pool)
    pool.close()


@dataclass(frozen=True)
class StepConfig:
    """The database step's settings and admin pool, as the operator's main builds them."""

    settings: DatabaseSettings
    pool: Any


def _context(username: str, store: MemorySecrets, events: list[tuple[str, str, str]]) -> Any:
    return StepContext(
        enrollment_name=username,
        enrollment_uid=f"uid-{username}",
        spec={"student": {"username": username}},
        status={},
        track_name="DP",
        track_spec={"database": True},
        namespace=f"student-{username}",
        secrets=store,
        record_event=lambda *event: events.append(event),
    )


def test_crash_between_secret_and_role_converges(
    server: Server, configured_step: StepConfig
) -> None:
    settings, pool = configured_step.settings, configured_step.pool
    username, store, events = user("crash"), MemorySecrets(), []
    ctx = _context(username, store, events)
    assert asyncio.run(step.reconcile(ctx, settings, pool)).ready
    old_password = store.data[SECRET_NAME]["password"]
    del store.data[SECRET_NAME]

    class OperatorKilled(Exception):
        pass

    class KilledPool:
        async def run(self, work: Any) -> Any:
            raise OperatorKilled("the operator died between the Secret and the role")

    with pytest.raises(OperatorKilled):
        asyncio.run(step.reconcile(ctx, settings, KilledPool()))  # type: ignore[arg-type]
    new_password = store.data[SECRET_NAME]["password"]
    assert new_password != old_password
    with pytest.raises(psycopg2.OperationalError):
        server.login(username, new_password)
    result = asyncio.run(step.reconcile(ctx, settings, pool))
    assert (result.ready, result.reason) == (True, "SchemaReady")
    assert store.data[SECRET_NAME]["password"] == new_password
    server.login(username, new_password).close()
    with pytest.raises(psycopg2.OperationalError):
        server.login(username, old_password)
    asyncio.run(step.cleanup(ctx, settings, pool))
    assert events[-1][:2] == ("Normal", "DatabaseDropped")


def test_drop_ends_sessions_and_removes_schema_and_role(server: Server) -> None:
    username, password = user("leaver"), generate_password()
    target = server.target(username)
    assert server.provision(username, password) is None
    session = server.login(username, password)
    session.autocommit = False
    with session.cursor() as cursor:
        cursor.execute("CREATE TABLE busy (x int)")
        cursor.execute("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
    server.teardown(username)
    assert server.one("SELECT count(*) FROM pg_roles WHERE rolname = %s", target.role) == (0,)
    assert server.one("SELECT count(*) FROM pg_namespace WHERE nspname = %s", target.schema) == (0,)
    with pytest.raises(psycopg2.OperationalError), session.cursor() as cursor:
        cursor.execute("SELECT 1")
    session.close()
    assert server.teardown(username).transactions == []


def test_keeping_data_renames_and_locks_it(server: Server) -> None:
    username, password = user("keeper"), generate_password()
    target = server.target(username)
    assert server.provision(username, password) is None
    with server.login(username, password) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE thesis (page int)")
        cursor.execute("INSERT INTO thesis VALUES (1)")
    connection.close()
    kept = server.teardown(username, keep=True)
    kept_schema, kept_role = kept.retained_as
    assert kept_schema.startswith(target.schema + "_deleted_")
    assert server.one(
        sql.SQL("SELECT page FROM {}.thesis").format(sql.Identifier(kept_schema))
    ) == (1,)
    assert server.one("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", kept_role) == (False,)
    assert server.one("SELECT count(*) FROM pg_roles WHERE rolname = %s", target.role) == (0,)
    with pytest.raises(psycopg2.OperationalError):
        server.login(username, password)
    assert server.provision(username, password) is None
    assert server.one("SELECT count(*) FROM pg_tables WHERE schemaname = %s", target.schema) == (0,)
    server.teardown(username)


def test_someone_elses_role_is_never_taken_over(server: Server) -> None:
    username = user("squatter")
    target = server.target(username)
    with server.superuser() as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(target.role)))
        cursor.execute(
            sql.SQL("COMMENT ON ROLE {} IS {}").format(
                sql.Identifier(target.role), sql.Literal(f"hand-made {SUFFIX}")
            )
        )
    connection.close()
    refusal = server.provision(username, generate_password())
    assert isinstance(refusal, Refusal) and refusal.reason == "RoleConflict"
    assert server.teardown(username).warnings
    assert server.one("SELECT count(*) FROM pg_roles WHERE rolname = %s", target.role) == (1,)


def test_pool_stays_bounded_under_many_reconciles(server: Server) -> None:
    usernames = [user(f"crowd{i}") for i in range(10)]
    application = f"crowd_{SUFFIX}"
    pool = adapter.AdminPool(
        parse_admin_url(server.admin_url) | {"application_name": application}, size=2
    )
    seen: list[int] = []

    def provision_and_count(connection: Any, username: str) -> Refusal | None:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application,)
            )
            seen.append(cursor.fetchone()[0])
        target = server.target(username)
        verifier = scram_verifier("pw", target.role)
        return adapter.provision(connection, target, LIMITS, verifier)

    async def crowd() -> list[Refusal | None]:
        return await asyncio.gather(
            *(pool.run(lambda c, u=u: provision_and_count(c, u)) for u in usernames)
        )

    try:
        assert asyncio.run(crowd()) == [None] * len(usernames)
        assert len(seen) == len(usernames)
        assert max(seen) <= 2 and pool.open_connections <= 2
    finally:
        pool.close()
    for username in usernames:
        server.teardown(username)


def test_pool_recovers_after_the_server_restarts(server: Server, postgres_server: Any) -> None:
    username, password = user("restart"), generate_password()
    assert server.provision(username, password) is None
    postgres_server.stop()
    try:
        with pytest.raises(psycopg2.OperationalError):
            server.provision(username, password)
    finally:
        postgres_server.start()
    assert server.provision(username, password) is None
    server.login(username, password).close()
    server.teardown(username)


def test_database_the_admin_does_not_own_is_refused(server: Server, postgres_server: Any) -> None:
    database = f"unowned_{SUFFIX}"
    superuser_url = postgres_server.create_database(database)
    admin = parse_admin_url(server.admin_url)
    maintenance = psycopg2.connect(**parse_admin_url(superuser_url) | {"dbname": "postgres"})
    maintenance.autocommit = True
    pool = adapter.AdminPool(admin | {"dbname": database}, size=1)
    try:
        with maintenance.cursor() as cursor:
            cursor.execute(
                sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                    sql.Identifier(database), sql.Identifier(admin["user"])
                )
            )
        target = StudentDatabase.for_student(user("unowned"), database)
        refusal = asyncio.run(
            pool.run(lambda c: adapter.provision(c, target, LIMITS, scram_verifier("pw", "x")))
        )
        assert isinstance(refusal, Refusal) and refusal.reason == "DatabaseNotHardened"
        assert server.one("SELECT count(*) FROM pg_roles WHERE rolname = %s", target.role) == (0,)
    finally:
        pool.close()
        with maintenance.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database))
            )
        maintenance.close()
