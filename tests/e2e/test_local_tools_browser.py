"""``LOCAL_TOOLS=1``: "Open JupyterLab" on the dashboard opens the real JupyterLab (Chromium).

The same parts ``make run`` wires together with ``LOCAL_TOOLS=1`` (``LocalToolsSettings`` for the
operator's and the API's environment, ``LocalTools`` for the forward-auth proxy and the tool
supervisor), against the local control plane, a real PostgreSQL, the operator and the API. The
track is a copy of Data Professional with JupyterLab only, so that nothing else starts. The
browser resolves ``*.localtest.me`` to 127.0.0.1 by a Chromium flag (there is no DNS here; on a
connected machine public DNS does the same).

Not shown to the student anywhere yet: the JupyterLab token. The test types it, from the
``jupyter-credentials`` Secret, into JupyterLab's own login page.
"""

from __future__ import annotations

import copy
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import AppsV1Api
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from apranova.local.postgres import free_port
from apranova.local.tools.local_tools import LocalTools, LocalToolsSettings
from apranova.local.tools.rendered import read_rendered
from apranova.local.tools.supervisor import fingerprint
from apranova_api.accounts.passwords import hash_password
from apranova_api.models import Enrollment, User
from apranova_contract import names
from tests.conftest import PROJECT_ROOT, kubectl
from tests.e2e.test_pages_journey import CHROMIUM, CHROMIUM_ARGS
from tests.support.api_process import ApiProcess
from tests.support.operator_process import (
    GROUP,
    PLURAL,
    VERSION,
    enrollment_body,
    start_operator,
    wait_for,
)
from tests.support.tool_contract import installed_or_skip, wait_rendered_with_database

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.browser]

SUFFIX = secrets.token_hex(3)
TRACK = f"lt{SUFFIX}"
USERNAME = f"lt-ada-{SUFFIX}"
PASSWORD = f"local tools {SUFFIX} battery"
RUN_LABEL = ("apranova.io/test-run", f"local-tools-{SUFFIX}")


@dataclass
class Stack:
    api: ApiProcess
    tools: LocalTools
    settings: LocalToolsSettings
    site: str
    email: str
    output: Path


def _jupyter_only_track() -> dict[str, Any]:
    track = yaml.safe_load((PROJECT_ROOT / "manifests" / "tracks" / "dp.yaml").read_text())
    track = copy.deepcopy(track)
    track["metadata"] = {"name": TRACK}
    track["spec"]["tools"] = [t for t in track["spec"]["tools"] if t["kind"] == "jupyterlab"]
    return track


def _add_student(database_url: str) -> str:
    email = f"{USERNAME}@example.com"
    engine = create_engine(database_url)
    with Session(engine) as session, session.begin():
        session.add(
            User(
                email=email,
                name="Ada Local",
                username=USERNAME,
                track="DP",
                payment_verified=True,
                privacy_accepted=True,
                password_hash=hash_password(PASSWORD),
                # As the purchases migration carries a one-track student over: an enrollment row
                # named after the username.
                enrollments=[Enrollment(track="DP", name=USERNAME)],
            )
        )
    engine.dispose()
    return email


@pytest.fixture(scope="module")
def stack(
    crds_applied: str, postgres_server: Any, test_output_dir: Path, k8s_api_client: Any, objects
) -> Iterator[Stack]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    jupyter = next(t for t in _jupyter_only_track()["spec"]["tools"])
    installed_or_skip(jupyter["image"])
    kubectl(crds_applied, "apply", "-f", "-", stdin=yaml.safe_dump(_jupyter_only_track()))
    api_port = free_port()
    settings = LocalToolsSettings(enabled=True, port=free_port())
    api_database = postgres_server.create_database(f"lt_api_{SUFFIX}")
    operator = start_operator(
        crds_applied,
        {
            "ENROLLMENT_SELECTOR": f"{RUN_LABEL[0]}={RUN_LABEL[1]}",
            "STUDENT_DB_ADMIN_URL": postgres_server.create_database(f"lt_students_{SUFFIX}"),
            **settings.operator_env(api_port),
        },
        test_output_dir / f"local-tools-operator-{SUFFIX}.log",
    )
    api = ApiProcess(
        env={
            "APRANOVA_ENV": "test",
            "KUBECONFIG": crds_applied,
            "DATABASE_URL": api_database,
            "STRIPE_SECRET_KEY": "",
            "SMTP_URL": "smtp://127.0.0.1:1",
            **settings.api_env(api_port),
        },
        log_path=test_output_dir / f"local-tools-api-{SUFFIX}.log",
        port=api_port,
    ).start()
    env = settings.operator_env(api_port)
    folder = Path(tempfile.mkdtemp(prefix="apranova-local-tools-"))
    tools = LocalTools(
        settings,
        k8s_api_client,
        folder,
        env["TOOL_AUTH_URL"],
        env["TOOL_AUTH_SIGNIN_URL"],
        f"{RUN_LABEL[0]}={RUN_LABEL[1]}",
    ).start()
    email = _add_student(api_database)
    body = enrollment_body(USERNAME, TRACK, labels={RUN_LABEL[0]: RUN_LABEL[1]}, email=email)
    objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)
    try:
        yield Stack(api, tools, settings, settings.site_url(api_port), email, test_output_dir)
    finally:
        tools.stop()
        kubectl(crds_applied, "delete", "se", USERNAME, "--timeout=180s", check=False)
        kubectl(crds_applied, "delete", "track", TRACK, check=False)
        api.stop()
        operator.stop()


def test_open_jupyterlab_from_the_dashboard_and_run_a_cell(stack: Stack, k8s_api_client) -> None:
    domain = f"students.{stack.settings.domain}"
    host = names.tool_host("{tool}-{username}.{baseDomain}", "jupyter", USERNAME, domain)
    wait_rendered_with_database(AppsV1Api(k8s_api_client), USERNAME, "jupyter", 240)
    current = fingerprint(read_rendered(k8s_api_client, USERNAME, "jupyter"))
    wait_for(
        lambda: stack.tools.supervisor.serving(USERNAME, "jupyter") == current,
        300,
        "the local JupyterLab of the current rendering to be started and routed",
    )
    assert host in stack.tools.routes.hosts()
    token = read_rendered(k8s_api_client, USERNAME, "jupyter").credential("token")
    shots = stack.output / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    rules = f"--host-resolver-rules=MAP *.{stack.settings.domain} 127.0.0.1"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, rules]
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{stack.site}/login")
        page.locator("#login-email").fill(stack.email)
        page.locator("#login-password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/dashboard")
        open_link = page.get_by_role("link", name="Open JupyterLab")
        expect(open_link).to_be_visible(timeout=240_000)
        page.screenshot(path=str(shots / "local-tools-dashboard.png"))
        with context.expect_page() as opened:
            open_link.click()
        jupyter = opened.value
        jupyter.wait_for_load_state()
        expect(jupyter.locator("#password_input")).to_be_visible(timeout=60_000)
        jupyter.locator("#password_input").fill(token)
        jupyter.locator("#password_input").press("Enter")
        notebook_card = jupyter.locator(".jp-LauncherCard[data-category='Notebook']").first
        expect(notebook_card).to_be_visible(timeout=120_000)
        expect(jupyter).to_have_title("JupyterLab", timeout=30_000)
        notebook_card.click()
        editor = jupyter.locator(".jp-Notebook .jp-Cell .cm-content").first
        expect(editor).to_be_visible(timeout=60_000)
        idle = jupyter.get_by_text("Python 3 (ipykernel) | Idle")
        try:
            expect(idle).to_be_visible(timeout=90_000)
        except AssertionError:
            # On a loaded machine JupyterLab may leave the new notebook on a kernel it has just
            # replaced ("No Kernel"); reloading attaches it to its session's live kernel.
            jupyter.reload()
            expect(idle).to_be_visible(timeout=120_000)
        editor.fill(
            "import os, sqlalchemy\n"
            "engine = sqlalchemy.create_engine(os.environ['DATABASE_URL'])\n"
            "print(engine.connect().exec_driver_sql('select current_schema()').scalar())"
        )
        editor.press("Shift+Enter")
        output = jupyter.locator(".jp-OutputArea-output").first
        try:
            expect(output).to_have_text(names.schema_name(USERNAME), timeout=120_000)
        finally:
            jupyter.screenshot(path=str(shots / "local-tools-jupyterlab-cell.png"))
        jupyter.screenshot(path=str(shots / "local-tools-jupyterlab.png"))
        browser.close()
