"""``STUDENT_DB_*`` settings: URL forms, endpoints, and messages that name the variable."""

from __future__ import annotations

import pytest

from apranova_operator.database.settings import (
    DatabaseSettings,
    DatabaseSettingsError,
    Endpoint,
    load_settings,
)


def test_defaults_are_unconfigured_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("ADMIN_URL", "POOL_SIZE", "CONNECTION_LIMIT", "STATEMENT_TIMEOUT"):
        monkeypatch.delenv(f"STUDENT_DB_{variable}", raising=False)
    settings = DatabaseSettings()
    assert not settings.configured
    assert 1 <= settings.pool_size <= 32
    assert settings.keep_data_on_delete is False


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://admin:s%40cret@db.internal:6543/student_data",
        "postgresql://admin:s%40cret@db.internal:6543/student_data",
        "host=db.internal port=6543 user=admin password=s@cret dbname=student_data",
    ],
)
def test_admin_url_forms(url: str) -> None:
    settings = DatabaseSettings(admin_url=url)
    parameters = settings.admin_parameters()
    assert parameters["password"] == "s@cret"
    assert parameters["connect_timeout"] == "5"
    assert settings.database_name() == "student_data"
    assert settings.student_endpoint() == Endpoint("db.internal", 6543)


def test_students_may_reach_the_server_elsewhere() -> None:
    url = "postgresql://admin:pw@127.0.0.1:6543/student_data"
    assert DatabaseSettings(
        admin_url=url, host_for_students="pg.data.svc"
    ).student_endpoint() == Endpoint("pg.data.svc", 6543)
    assert DatabaseSettings(
        admin_url=url, host_for_students="[fd00::1]:5433"
    ).student_endpoint() == Endpoint("fd00::1", 5433)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ADMIN_URL", "postgresql://admin:topsecret@db/"),
        ("ADMIN_URL", "not a url topsecret"),
        ("POOL_SIZE", "0"),
        ("POOL_SIZE", "1000"),
        ("CONNECTION_LIMIT", "-1"),
        ("STATEMENT_TIMEOUT", "forever"),
        ("HOST_FOR_STUDENTS", "bad host:99999"),
        ("KEEP_DATA_ON_DELETE", "maybe"),
    ],
)
def test_bad_values_name_the_variable_and_hide_secrets(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(f"STUDENT_DB_{variable}", value)
    with pytest.raises(DatabaseSettingsError) as error:
        load_settings()
    assert f"STUDENT_DB_{variable}" in str(error.value)
    assert "topsecret" not in str(error.value)
