"""Contract of the rendered JupyterLab and Prefect Deployments, proven against the real tools.

For a real Data Professional enrollment on the local control plane (with the ``student-database``
Secret of a real PostgreSQL), each tool's container is run as a local process from the cached
install of the image's version (``hack/install-tools.sh``): same command, arguments and
environment, Secrets resolved as the kubelet would; only the port (a free one), the bind address
(127.0.0.1) and the mounted paths (a temporary folder) are mapped.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest

from apranova.local.tools.rendered import RenderedTool, read_rendered
from apranova_contract import names
from tests.support.tool_contract import (
    Environment,
    installed_or_skip,
    provisioned,
    run_in_kernel,
    running,
)

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.timeout(900)]

SUFFIX = secrets.token_hex(3)
OWNER, OTHER = f"tc-ada-{SUFFIX}", f"tc-bob-{SUFFIX}"
OTHER_TABLE = "private_notes"


@pytest.fixture(scope="module")
def environment(
    crds_applied: str, postgres_server: Any, test_output_dir: Path
) -> Iterator[Environment]:
    with provisioned(
        crds_applied, postgres_server, test_output_dir, "dp", (OWNER, OTHER), "prefect"
    ) as found:
        yield found


@pytest.fixture(scope="module")
def other_students_table(environment: Environment, k8s_api_client: Any) -> str:
    """A table with a row in the other student's schema, written with their own credentials."""
    url = read_rendered(k8s_api_client, OTHER, "jupyter").secrets["student-database"]["libpq_url"]
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {OTHER_TABLE} (note text)")
        cursor.execute(f"INSERT INTO {OTHER_TABLE} VALUES ('not for ada')")
    connection.close()
    return f"{names.schema_name(OTHER)}.{OTHER_TABLE}"


def _rendered(k8s_api_client: Any, tool: str) -> RenderedTool:
    return read_rendered(k8s_api_client, OWNER, tool)


# --- JupyterLab -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jupyter(environment: Environment, k8s_api_client: Any, test_output_dir: Path):
    rendered = _rendered(k8s_api_client, "jupyter")
    with running(rendered, test_output_dir) as tool:
        yield rendered, tool


def test_jupyterlab_starts_and_its_readiness_path_answers(jupyter) -> None:
    rendered, tool = jupyter
    probe = rendered.deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert tool.probe() == 200
    assert probe["httpGet"]["path"] == tool.spec.health_path


def test_jupyterlab_refuses_without_the_token_and_lets_in_with_it(jupyter) -> None:
    rendered, tool = jupyter
    token = rendered.credential("token")
    assert httpx.get(f"{tool.base_url}/api/contents").status_code == 403
    assert httpx.get(f"{tool.base_url}/api/contents?token=wrong").status_code == 403
    answer = httpx.get(f"{tool.base_url}/api/contents", headers={"Authorization": f"token {token}"})
    assert answer.status_code == 200


def test_jupyterlab_serves_the_ingress_path_under_the_ingress_host(jupyter) -> None:
    rendered, tool = jupyter
    token = rendered.credential("token")
    url = f"{tool.base_url}{rendered.ingress_path.rstrip('/')}/lab?token={token}"
    page = httpx.get(url, headers={"Host": rendered.host}, follow_redirects=True)
    assert page.status_code == 200
    assert '"baseUrl": "/"' in page.text and "JupyterLab" in page.text


def test_jupyterlab_kernel_is_in_the_students_schema_and_not_in_another(
    jupyter, other_students_table: str
) -> None:
    rendered, tool = jupyter
    code = textwrap.dedent(
        f"""
        import os, sqlalchemy
        engine = sqlalchemy.create_engine(os.environ["DATABASE_URL"])
        with engine.connect() as connection:
            print(connection.exec_driver_sql("select current_schema()").scalar())
        with engine.connect() as connection:
            connection.exec_driver_sql("select * from {other_students_table}").fetchall()
        """
    )
    output = run_in_kernel(tool.base_url, rendered.credential("token"), code)
    first, *rest = output.splitlines()
    assert first == names.schema_name(OWNER)
    assert "permission denied for schema" in "".join(rest)


def test_jupyterlab_starts_before_the_database_secret_exists(
    environment: Environment, k8s_api_client: Any, test_output_dir: Path
) -> None:
    rendered = _rendered(k8s_api_client, "jupyter")
    with running(rendered, test_output_dir, without=frozenset({"student-database"})) as tool:
        assert "DATABASE_URL" not in tool.spec.env
        assert tool.probe() == 200


# --- Prefect ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prefect(environment: Environment, k8s_api_client: Any, test_output_dir: Path):
    rendered = _rendered(k8s_api_client, "prefect")
    with running(rendered, test_output_dir) as tool:
        yield rendered, tool


def _basic(auth_string: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(auth_string.encode()).decode()}


def test_prefect_readiness_path_answers_without_credentials(prefect) -> None:
    _rendered_tool, tool = prefect
    assert httpx.get(tool.base_url + tool.spec.health_path).status_code == 200


def test_prefect_api_refuses_without_the_auth_string_and_lets_in_with_it(prefect) -> None:
    rendered, tool = prefect
    url = f"{tool.base_url}/api/flows/filter"
    assert httpx.post(url, json={}).status_code == 401
    assert httpx.post(url, json={}, headers=_basic("admin:wrong")).status_code == 401
    auth = rendered.credential("auth-string")
    assert httpx.post(url, json={}, headers=_basic(auth)).status_code == 200


def test_prefect_ui_is_served_under_the_ingress_host_and_calls_its_api_there(prefect) -> None:
    rendered, tool = prefect
    host = {"Host": rendered.host}
    page = httpx.get(tool.base_url + rendered.ingress_path, headers=host)
    assert page.status_code == 200 and "<title>Prefect" in page.text
    settings = httpx.get(f"{tool.base_url}/ui-settings", headers=host).json()
    assert settings["api_url"] == f"https://{rendered.host}/api"


def test_prefect_flow_runs_in_the_students_schema_and_not_in_another(
    prefect, other_students_table: str
) -> None:
    """With the driver the image ships (asyncpg, a Prefect dependency) and ``DATABASE_URL``."""
    rendered, tool = prefect
    script = textwrap.dedent(
        f"""
        import asyncio, os, asyncpg
        from prefect import flow

        @flow(name="whoami")
        async def whoami() -> str:
            connection = await asyncpg.connect(os.environ["DATABASE_URL"])
            try:
                schema = await connection.fetchval("select current_schema()")
                try:
                    await connection.fetch("select * from {other_students_table}")
                    return schema + " READ-OTHER"
                except asyncpg.InsufficientPrivilegeError as error:
                    return schema + " " + str(error)
            finally:
                await connection.close()

        print(asyncio.run(whoami()))
        """
    )
    done = installed_or_skip(rendered.image)
    result = subprocess.run(
        [str(done.bin_dir / "python"), "-c", script],
        env=tool.spec.env,
        cwd=tool.spec.cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last == f"{names.schema_name(OWNER)} permission denied for schema " + (
        names.schema_name(OTHER)
    )
    runs = httpx.post(
        f"{tool.base_url}/api/flow_runs/filter",
        json={"flows": {"name": {"any_": ["whoami"]}}},
        headers=_basic(rendered.credential("auth-string")),
    ).json()
    assert [run["state_type"] for run in runs] == ["COMPLETED"]


def test_prefect_stand_in_has_no_driver_the_image_lacks(prefect) -> None:
    """The image has no psycopg2; neither may its stand-in, or a flow could pass here only."""
    rendered, _tool = prefect
    done = installed_or_skip(rendered.image)
    probe = "import importlib.util as u; print(u.find_spec('psycopg2'), u.find_spec('asyncpg'))"
    found = subprocess.run(
        [str(done.bin_dir / "python"), "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert found.startswith("None ModuleSpec(name='asyncpg'"), found
