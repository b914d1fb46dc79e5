from __future__ import annotations

import base64
import itertools

import pytest

from apranova_operator.render import credentials

from .conftest import make_context


def _counter() -> itertools.count[int]:
    return itertools.count(1)


def _generator():
    counter = _counter()
    return lambda: f"s{next(counter)}"


@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        ("jupyterlab", {"token"}),
        ("superset", {"secret-key", "admin-username", "admin-password"}),
        ("prefect", {"username", "password", "auth-string"}),
        ("codeserver", {"password"}),
    ],
)
def test_each_kind_gets_its_keys(kind: str, keys: set[str]) -> None:
    assert set(credentials.complete_credentials(kind, {}, _generator())) == keys


def test_existing_values_are_never_regenerated() -> None:
    existing = {"password": "kept"}
    data = credentials.complete_credentials("prefect", existing, _generator())
    assert data["password"] == "kept"
    assert data["auth-string"] == "admin:kept"
    again = credentials.complete_credentials("prefect", data, _generator())
    assert again == data


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown tool kind"):
        credentials.complete_credentials("nope", {}, _generator())


def test_secret_round_trip() -> None:
    ctx = make_context("fsd")
    body = credentials.secret(ctx, "code-credentials", {"password": "pä55"}, "code")
    assert body["data"]["password"] == base64.b64encode("pä55".encode()).decode()
    assert credentials.decode_secret_data(body) == {"password": "pä55"}
    assert body["metadata"]["labels"]["apranova.io/tool"] == "code"


def test_new_secrets_are_random_and_long() -> None:
    first, second = credentials.new_secret(), credentials.new_secret()
    assert first != second
    assert len(first) >= 32
