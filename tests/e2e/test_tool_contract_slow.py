"""Contract of the rendered Superset Deployment against the real tool (code-server's is in
``test_tool_contract_codeserver.py``).

Slow (Superset's install is about 700 MiB and its start runs migrations), so these run with
``make test-tools`` (``APRANOVA_TOOLS_SLOW=1``), not ``make test``.
Same method as ``test_tool_contract.py``; a tool that cannot be installed here is skipped with
the installer's exact error.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest

from apranova.local.tools.rendered import read_rendered
from apranova_contract import names
from tests.support.tool_contract import SLOW_TOOLS, Environment, provisioned, running

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.postgres,
    pytest.mark.timeout(1200),
    SLOW_TOOLS,
]

SUFFIX = secrets.token_hex(3)
OWNER, OTHER = f"ts-ada-{SUFFIX}", f"ts-bob-{SUFFIX}"


@pytest.fixture(scope="module")
def dp_environment(
    crds_applied: str, postgres_server: Any, test_output_dir: Path
) -> Iterator[Environment]:
    with provisioned(
        crds_applied, postgres_server, test_output_dir, "dp", (OWNER, OTHER), "prefect"
    ) as found:
        yield found


@pytest.fixture(scope="module")
def superset(dp_environment: Environment, k8s_api_client: Any, test_output_dir: Path):
    other = read_rendered(k8s_api_client, OTHER, "superset").secrets["student-database"]
    with psycopg2.connect(other["libpq_url"]) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE private_notes (note text)")
    connection.close()
    rendered = read_rendered(k8s_api_client, OWNER, "superset")
    with running(rendered, test_output_dir) as tool:
        yield rendered, tool


def _login(rendered, tool) -> httpx.Client:
    client = httpx.Client(base_url=tool.base_url, timeout=30)
    answer = client.post(
        "/api/v1/security/login",
        json={
            "username": rendered.credential("admin-username"),
            "password": rendered.credential("admin-password"),
            "provider": "db",
            "refresh": False,
        },
    )
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    csrf = client.get("/api/v1/security/csrf_token/").json()["result"]
    client.headers["X-CSRFToken"] = csrf
    client.headers["Referer"] = tool.base_url
    return client


def _run_sql(client: httpx.Client, sql: str) -> httpx.Response:
    databases = client.get("/api/v1/database/").json()["result"]
    student = next(item for item in databases if item["database_name"] == "student")
    return client.post(
        "/api/v1/sqllab/execute/",
        json={"database_id": student["id"], "sql": sql, "runAsync": False, "schema": None},
    )


def test_superset_starts_and_its_readiness_path_answers(superset) -> None:
    _rendered, tool = superset
    assert tool.probe() == 200


def test_superset_refuses_without_credentials_and_lets_in_with_them(superset) -> None:
    rendered, tool = superset
    assert httpx.get(f"{tool.base_url}/api/v1/database/").status_code == 401
    wrong = httpx.post(
        f"{tool.base_url}/api/v1/security/login",
        json={
            "username": rendered.credential("admin-username"),
            "password": "wrong",
            "provider": "db",
        },
    )
    assert wrong.status_code == 401
    names_listed = [
        d["database_name"] for d in _login(rendered, tool).get("/api/v1/database/").json()["result"]
    ]
    assert names_listed == ["student"]


def test_superset_login_page_under_the_ingress_host(superset) -> None:
    rendered, tool = superset
    page = httpx.get(f"{tool.base_url}/login/", headers={"Host": rendered.host})
    assert page.status_code == 200 and "Superset" in page.text


def test_superset_queries_the_students_schema_and_not_another(superset) -> None:
    rendered, tool = superset
    client = _login(rendered, tool)
    own = _run_sql(client, "select current_schema() as schema")
    assert own.status_code == 200, own.text
    assert own.json()["data"] == [{"schema": names.schema_name(OWNER)}]
    other = _run_sql(client, f"select * from {names.schema_name(OTHER)}.private_notes")
    assert other.status_code >= 400
    assert "permission denied for schema" in other.text
