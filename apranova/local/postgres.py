"""A local PostgreSQL server run with ``initdb`` + ``pg_ctl`` (for ``make run`` and the tests).

``initdb`` refuses to run as root (and CI runs as root), so as root the server runs as the
``postgres`` user. Host connections use scram-sha-256 passwords, so logging in with a student's
credentials really checks them. The data folder is kept between runs when the caller wants
(``make run``) or thrown away (tests).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg2
from psycopg2 import sql


def pg_binary(name: str) -> str:
    """Path of a PostgreSQL server program (``initdb``, ``pg_ctl``)."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalPostgres:
    """One PostgreSQL server whose files live in ``root``."""

    superuser = "postgres"

    def __init__(self, root: Path, port: int, password: str) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.socket_dir = root / "socket"
        self.log_file = root / "postgres.log"
        self.host = "127.0.0.1"
        self.port = port
        self.password = password
        self._run_as: str | None = "postgres" if os.geteuid() == 0 else None

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    @property
    def libpq_dsn(self) -> str:
        return (
            f"host={self.host} port={self.port} dbname=postgres user={self.superuser} "
            f"password={self.password}"
        )

    def url(self, database: str, user: str | None = None, password: str | None = None) -> str:
        """A SQLAlchemy URL for ``database`` (as the superuser unless a user is given)."""
        user = user or self.superuser
        password = self.password if password is None else password
        return f"postgresql+psycopg2://{user}:{password}@{self.host}:{self.port}/{database}"

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def _cmd(self, argv: Sequence[str]) -> list[str]:
        if self._run_as:
            return ["runuser", "-u", self._run_as, "--", *argv]
        return list(argv)

    def init(self) -> None:
        """Create the cluster's files (once)."""
        if self.initialized:
            return
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._run_as:
            entry = pwd.getpwnam(self._run_as)
            for path in (self.root, self.socket_dir, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        try:
            subprocess.run(
                self._cmd(
                    [
                        pg_binary("initdb"),
                        "-D",
                        str(self.data_dir),
                        "-U",
                        self.superuser,
                        "--auth-local=trust",
                        "--auth-host=scram-sha-256",
                        f"--pwfile={pwfile}",
                        "--encoding=UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                check=True,
                capture_output=True,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 200\n"
            )

    def start(self) -> None:
        """Start the server (on ``self.port``) and wait until it accepts connections."""
        subprocess.run(
            self._cmd(
                [
                    pg_binary("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    f"-p {self.port}",
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self._wait_ready()

    def stop(self) -> None:
        subprocess.run(
            self._cmd([pg_binary("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )

    def is_running(self) -> bool:
        result = subprocess.run(
            self._cmd([pg_binary("pg_ctl"), "-D", str(self.data_dir), "status"]),
            check=False,
            capture_output=True,
        )
        return result.returncode == 0

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(self.libpq_dsn, connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def ensure_database(self, name: str) -> str:
        """Create ``name`` unless it exists; return its SQLAlchemy URL."""
        conn = psycopg2.connect(self.libpq_dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            conn.close()
        return self.url(name)

    def create_database(self, name: str, owner: str | None = None) -> str:
        """Create a database (dropping an old one of that name) and return its SQLAlchemy URL."""
        conn = psycopg2.connect(self.libpq_dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
                statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                if owner:
                    statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
                cur.execute(statement)
        finally:
            conn.close()
        return self.url(name)

    def destroy(self) -> None:
        """Stop the server and delete its files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
