"""Passwords, SCRAM verifiers and the ``student-database`` Secret's data."""

from __future__ import annotations

import base64
import re

import psycopg2.extensions
from sqlalchemy.engine import make_url

from apranova_operator.database.credentials import (
    SECRET_KEYS,
    generate_password,
    scram_verifier,
    secret_data,
    stored_password,
)
from apranova_operator.database.settings import Endpoint

_VERIFIER = re.compile(
    r"^SCRAM-SHA-256\$4096:([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$"
)


def test_passwords_are_long_random_and_url_safe() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", p) for p in passwords)


def test_verifier_has_postgres_format() -> None:
    match = _VERIFIER.match(scram_verifier("pencil", "stu_ada"))
    assert match
    salt, stored_key, server_key = (base64.b64decode(part) for part in match.groups())
    assert (len(salt), len(stored_key), len(server_key)) == (16, 32, 32)


def test_verifier_is_a_function_of_password_and_role() -> None:
    assert scram_verifier("pencil", "stu_ada") == scram_verifier("pencil", "stu_ada")
    assert scram_verifier("pencil", "stu_ada") != scram_verifier("pencil", "stu_bob")
    assert scram_verifier("pencil", "stu_ada") != scram_verifier("pencils", "stu_ada")
    salt_ada = _VERIFIER.match(scram_verifier("pencil", "stu_ada")).group(1)
    salt_bob = _VERIFIER.match(scram_verifier("pencil", "stu_bob")).group(1)
    assert salt_ada != salt_bob
    assert "pencil" not in scram_verifier("pencil", "stu_ada")


def test_secret_has_exactly_the_contract_keys() -> None:
    data = secret_data(Endpoint("db.example", 5432), "student_data", "stu_ada", "stu_ada", "pw")
    assert set(data) == SECRET_KEYS
    assert data["host"] == "db.example"
    assert data["port"] == "5432"
    assert data["user"] == data["schema"] == "stu_ada"


def test_urls_round_trip_awkward_passwords_and_carry_search_path() -> None:
    password = "p@ss/w:rd%?#&= ü"
    data = secret_data(Endpoint("db.example", 6543), "stu data", "stu_ada", "stu_ada", password)
    url = make_url(data["sqlalchemy_url"])
    assert url.drivername == "postgresql+psycopg2"
    assert (url.username, url.password, url.host, url.port) == (
        "stu_ada",
        password,
        "db.example",
        6543,
    )
    assert url.database == "stu data"
    assert url.query["options"] == "-csearch_path=stu_ada"
    libpq = psycopg2.extensions.parse_dsn(data["libpq_url"])
    assert libpq == {
        "user": "stu_ada",
        "password": password,
        "host": "db.example",
        "port": "6543",
        "dbname": "stu data",
        "options": "-csearch_path=stu_ada",
    }


def test_ipv6_hosts_are_bracketed_in_urls_only() -> None:
    data = secret_data(Endpoint("::1", 5432), "d", "stu_ada", "stu_ada", "pw")
    assert data["host"] == "::1"
    assert "@[::1]:5432/" in data["libpq_url"]
    assert psycopg2.extensions.parse_dsn(data["libpq_url"])["host"] == "::1"


def test_stored_password_only_from_a_usable_secret() -> None:
    assert stored_password(None) is None
    assert stored_password({}) is None
    assert stored_password({"password": ""}) is None
    assert stored_password({"password": "kept"}) == "kept"
