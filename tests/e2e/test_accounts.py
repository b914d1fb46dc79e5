"""Student accounts end to end: a real API process, PostgreSQL, SMTP server and control plane.

Each test enrolls its own student through the real payment path (checkout against the Stripe
stand-in, a signed ``checkout.session.completed`` webhook), so the tests do not depend on each
other. No operator runs here: the tests write the enrollment's status the way the operator does.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from apranova_api.payments.signature import sign_payload
from apranova_contract import names
from apranova_contract.labels import ENROLLMENT_PLURAL as PLURAL
from apranova_contract.labels import GROUP, VERSION
from tests.support.api_process import ApiProcess
from tests.support.smtp import SmtpSink, body_of
from tests.support.stripe_standin import StripeStandIn

pytestmark = [pytest.mark.cluster, pytest.mark.postgres]

WEBHOOK_SECRET = "whsec_accounts_" + secrets.token_hex(8)
PASSWORD = "a sturdy passphrase 42"
TOKEN_IN_LINK = re.compile(r"/set-password\?token=([A-Za-z0-9_\-]+)")
TOOL_DOMAIN = "students.accounts.test"
WAIT = 90.0


@dataclass
class Stack:
    api: ApiProcess
    sink: SmtpSink
    standin: StripeStandIn
    objects: client.CustomObjectsApi
    api_client: client.ApiClient
    database_url: str
    run: str

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.api.url, timeout=30)


@dataclass
class Student:
    email: str
    username: str
    enrollment: str


def _wait(condition: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def stack(
    crds_applied: str, k8s_api_client: client.ApiClient, postgres_server: Any, test_output_dir: Any
) -> Iterator[Stack]:
    run = secrets.token_hex(3)
    database_url = postgres_server.create_database(f"accounts_{run}")
    sink = SmtpSink()
    sink.start()
    standin = StripeStandIn().start()
    api = ApiProcess(env={}, log_path=test_output_dir / f"accounts-api-{run}.log")
    api.env.update(
        {
            "APRANOVA_ENV": "test",
            "DATABASE_URL": database_url,
            "KUBECONFIG": crds_applied,
            "STRIPE_SECRET_KEY": standin.api_key,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": standin.url,
            "ENROLLMENT_LABELS": f"apranova.io/test-run=accounts-{run}",
            "REPAIR_INTERVAL_SECONDS": "3600",
            "SMTP_URL": sink.url,
            "PUBLIC_BASE_URL": api.url,
            "OUTBOX_POLL_SECONDS": "0.5",
            "OUTBOX_MAX_BACKOFF_SECONDS": "2",
            "WELCOME_INVITE_WAIT_SECONDS": "30",
            "RESET_TOKEN_TTL_SECONDS": "2",
            "LOGIN_MAX_FAILURES_PER_ACCOUNT": "3",
        }
    )
    api.start()
    objects = client.CustomObjectsApi(k8s_api_client)
    try:
        yield Stack(api, sink, standin, objects, k8s_api_client, database_url, run)
    finally:
        api.stop()
        standin.stop()
        sink.stop()
        objects.delete_collection_cluster_custom_object(
            GROUP, VERSION, PLURAL, label_selector=f"apranova.io/test-run=accounts-{run}"
        )


def enroll(stack: Stack, name: str) -> Student:
    """Pay for the DP track as ``name`` at the Stripe stand-in and deliver the signed webhook."""
    email = f"{name}-{stack.run}@example.com"
    session = stack.standin.create_session(
        {
            "mode": "payment",
            "line_items": [
                {"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 49900}}
            ],
            "metadata": {"track": "DP", "anonymous_checkout": "true"},
        }
    )
    session_id = session["id"]
    stack.standin.complete(session_id, email, name.title())
    with stack.http() as http:
        event = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "type": "checkout.session.completed",
            "data": {"object": {"id": session_id, "object": "checkout.session"}},
        }
        payload = json.dumps(event).encode()
        answer = http.post(
            "/api/payments/stripe-webhook/",
            content=payload,
            headers={
                "Stripe-Signature": sign_payload(WEBHOOK_SECRET, payload),
                "Content-Type": "application/json",
            },
        )
        assert answer.status_code == 200, answer.text
    username = f"{name}-{stack.run}"
    enrollment = names.enrollment_name_candidate(username, "DP")
    _wait(lambda: _enrollment(stack, enrollment), f"enrollment {enrollment}")
    return Student(email, username, enrollment)


def _enrollment(stack: Stack, name: str) -> dict[str, Any] | None:
    try:
        return stack.objects.get_cluster_custom_object(GROUP, VERSION, PLURAL, name)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def tool_url(enrollment: str) -> str:
    return f"https://jupyter-{enrollment}.{TOOL_DOMAIN}"


def write_status(stack: Stack, name: str, invite: str | None = None) -> None:
    """What the operator would write once the environment is ready."""
    stack.objects.patch_cluster_custom_object_status(
        GROUP,
        VERSION,
        PLURAL,
        name,
        {
            "status": {
                "phase": "Ready",
                "tools": [{"name": "jupyter", "url": tool_url(name), "ready": True, "message": ""}],
                "integrations": {"discordInvite": invite},
            }
        },
        _content_type="application/merge-patch+json",
    )


def welcome_token(stack: Stack, student: Student) -> tuple[str, str]:
    message = stack.sink.wait_for(lambda m: m["To"] == student.email, timeout=WAIT)
    body = body_of(message)
    match = TOKEN_IN_LINK.search(body)
    assert match, body
    return match.group(1), body


def activate(stack: Stack, student: Student) -> str:
    """Set the password from the welcome email and log in; returns the access token."""
    write_status(stack, student.enrollment, "https://discord.gg/acc" + stack.run)
    token, _ = welcome_token(stack, student)
    with stack.http() as http:
        assert http.post(
            "/api/accounts/set-password/", json={"token": token, "password": PASSWORD}
        ).is_success
        login = http.post(
            "/api/accounts/login/", json={"email": student.email, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        return login.json()["access_token"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_welcome_email_leads_to_a_working_account(stack: Stack) -> None:
    ada = enroll(stack, "ada")
    invite = "https://discord.gg/ada" + stack.run
    write_status(stack, ada.enrollment, invite)
    token, body = welcome_token(stack, ada)
    assert invite in body
    assert f"{stack.api.url}/dashboard" in body and f"{stack.api.url}/login" in body
    assert PASSWORD not in body

    with stack.http() as http:
        weak = http.post("/api/accounts/set-password/", json={"token": token, "password": "short"})
        assert weak.status_code == 422
        assert weak.json()["detail"][0]["msg"] == "Use at least 12 characters."
        done = http.post("/api/accounts/set-password/", json={"token": token, "password": PASSWORD})
        assert done.status_code == 200, done.text
        reused = http.post(
            "/api/accounts/set-password/", json={"token": token, "password": PASSWORD + "!"}
        )
        assert reused.status_code == 410 and "already been used" in reused.json()["detail"]
        bogus = http.post("/api/accounts/set-password/", json={"token": "x" * 43, "password": "p"})
        assert bogus.status_code == 400

        wrong = http.post("/api/accounts/login/", json={"email": ada.email, "password": "nope"})
        assert wrong.status_code == 401
        login = http.post("/api/accounts/login/", json={"email": ada.email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        access = login.json()["access_token"]

        me = http.get("/api/accounts/me/", headers=_bearer(access)).json()
        assert (me["email"], me["username"], me["track"]) == (ada.email, ada.username, "DP")
        assert me["phase"] == "Ready"
        # The cookie alone (as the pages send it) is a session too.
        assert http.get("/api/accounts/me/").status_code == 200

        assert http.get("/readyz").json()["status_cache"] == "synced"
        tools = http.get("/api/accounts/tools/", headers=_bearer(access)).json()
        assert tools["phase"] == "Ready" and tools["discord_invite"] == invite
        assert tools["tools"] == [
            {"name": "jupyter", "url": tool_url(ada.enrollment), "ready": True, "message": ""}
        ]

        plan = http.get("/api/curriculum/", headers=_bearer(access)).json()
        first, second = plan["projects"][0], plan["projects"][1]
        assert first["status"] == "unlocked" and second["status"] == "locked"
        locked = http.post(
            f"/api/progress/steps/{second['steps'][0]['id']}/complete", headers=_bearer(access)
        )
        assert locked.status_code == 409
        for step in first["steps"]:
            answer = http.post(
                f"/api/progress/steps/{step['id']}/complete", headers=_bearer(access)
            )
            assert answer.status_code == 200, answer.text
        assert answer.json()["unlocked"] == [s["id"] for s in second["steps"]]
        plan = http.get("/api/curriculum/", headers=_bearer(access)).json()
        assert [p["status"] for p in plan["projects"][:2]] == ["done", "unlocked"]
        assert http.get("/api/accounts/me/", headers=_bearer("forged")).status_code == 401


def test_reset_links_expire_and_unknown_emails_get_the_same_answer(stack: Stack) -> None:
    bea = enroll(stack, "bea")
    activate(stack, bea)
    with stack.http() as http:
        unknown = http.post("/api/accounts/password-reset/", json={"email": "nobody@example.com"})
        known = http.post("/api/accounts/password-reset/", json={"email": bea.email})
        assert unknown.status_code == known.status_code == 202
        assert unknown.json() == known.json()
        message = stack.sink.wait_for(
            lambda m: m["To"] == bea.email and "Reset" in m["Subject"], timeout=WAIT
        )
        token = TOKEN_IN_LINK.search(body_of(message)).group(1)
        time.sleep(3)  # the API runs with RESET_TOKEN_TTL_SECONDS=2
        expired = http.post(
            "/api/accounts/set-password/", json={"token": token, "password": PASSWORD}
        )
        assert expired.status_code == 410 and "expired" in expired.json()["detail"]


def test_repeated_login_failures_are_throttled(stack: Stack) -> None:
    cy = enroll(stack, "cy")
    activate(stack, cy)
    with stack.http() as http:
        for _ in range(3):
            failed = http.post("/api/accounts/login/", json={"email": cy.email, "password": "x"})
            assert failed.status_code == 401
        blocked = http.post("/api/accounts/login/", json={"email": cy.email, "password": PASSWORD})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0


def _tool_access(stack: Stack, session: str | None, **headers: str) -> httpx.Response:
    """Ask forward-auth as the ingress would, with the browser's session cookie if any."""
    cookies = {"apranova_session": session} if session else None
    return httpx.get(
        f"{stack.api.url}/api/auth/tool-access", headers=headers, cookies=cookies, timeout=30
    )


def test_forward_auth_lets_only_the_owner_reach_a_tool(stack: Stack) -> None:
    dee, eve = enroll(stack, "dee"), enroll(stack, "eve")
    dee_session, eve_session = activate(stack, dee), activate(stack, eve)
    dee_host = tool_url(dee.enrollment).split("//")[1]
    eve_host = tool_url(eve.enrollment).split("//")[1]
    for session, host in ((dee_session, dee_host), (eve_session, eve_host)):
        _wait(
            lambda s=session, h=host: (
                _tool_access(stack, s, **{"X-Forwarded-Host": h}).status_code == 200
            ),
            f"the status cache to map {host} to its owner",
        )
    mine = _tool_access(stack, dee_session, **{"X-Original-URL": f"https://{dee_host}/lab"})
    assert mine.status_code == 200
    assert mine.headers["x-auth-request-user"] == dee.username
    assert _tool_access(stack, dee_session, **{"X-Forwarded-Host": eve_host}).status_code == 403
    assert _tool_access(stack, eve_session, **{"X-Forwarded-Host": dee_host}).status_code == 403
    anonymous = _tool_access(
        stack,
        None,
        **{"X-Forwarded-Host": dee_host, "X-Forwarded-Proto": "https", "X-Forwarded-Uri": "/lab"},
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["login_url"] == (
        f"{stack.api.url}/login?next=https%3A%2F%2F{dee_host}%2Flab"
    )


def _apiserver_metrics(stack: Stack) -> list[Any]:
    method, url, headers, body, post = stack.api_client.param_serialize(
        "GET", "/metrics", auth_settings=["BearerToken"]
    )
    response = stack.api_client.call_api(method, url, headers, body, post)
    response.read()
    return [
        sample
        for family in text_string_to_metric_families(response.data.decode())
        for sample in family.samples
    ]


def _enrollment_reads(stack: Stack) -> float:
    """GETs and LISTs of StudentEnrollments, from anyone (``apiserver_request_total``)."""
    return sum(
        sample.value
        for sample in _apiserver_metrics(stack)
        if sample.name == "apiserver_request_total"
        and sample.labels.get("resource") == PLURAL
        and sample.labels.get("verb") in ("GET", "LIST")
    )


def test_polling_tools_costs_the_apiserver_nothing(stack: Stack) -> None:
    """Reads of StudentEnrollments at the API server while the tools endpoint is polled.

    Other test runs share this cluster and read enrollments too, so a window may see a few
    reads; a window with none proves the polls cost nothing, and in any case a read per poll
    would add at least ``polls`` to every window.
    """
    fay = enroll(stack, "fay")
    access = activate(stack, fay)
    before = _enrollment_reads(stack)
    _enrollment(stack, fay.enrollment)
    assert _enrollment_reads(stack) > before, "the counter must see a direct GET"
    polls = 300
    windows: list[float] = []
    with stack.http() as http:
        for _ in range(5):
            before = _enrollment_reads(stack)
            for _ in range(polls):
                answer = http.get("/api/accounts/tools/", headers=_bearer(access))
                assert answer.status_code == 200 and answer.json()["phase"] == "Ready"
            windows.append(_enrollment_reads(stack) - before)
            if windows[-1] == 0:
                return
    assert max(windows) < polls, f"enrollment reads per window of {polls} polls: {windows}"


def test_export_then_delete(stack: Stack) -> None:
    gus = enroll(stack, "gus")
    access = activate(stack, gus)
    with stack.http() as http:
        export = http.get("/api/accounts/export/", headers=_bearer(access))
        assert export.status_code == 200
        data = export.json()
        assert data["account"]["email"] == gus.email and "password_hash" not in data["account"]
        assert data["payments"][0]["amount"] > 0
        assert data["progress"] and data["enrollment"]["metadata"]["name"] == gus.enrollment

        assert http.delete("/api/accounts/me/", headers=_bearer(access)).status_code == 204
        assert http.get("/api/accounts/me/", headers=_bearer(access)).status_code == 401
        login = http.post("/api/accounts/login/", json={"email": gus.email, "password": PASSWORD})
        assert login.status_code == 401
    _wait(lambda: _enrollment(stack, gus.enrollment) is None, "the enrollment to go")
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as db:
            assert (
                db.execute(
                    text("SELECT count(*) FROM users WHERE email = :e"), {"e": gus.email}
                ).scalar()
                == 0
            )
            assert (
                db.execute(
                    text("SELECT count(*) FROM payments WHERE email = :e"), {"e": gus.email}
                ).scalar()
                == 0
            )
            actions = set(db.execute(text("SELECT action FROM audit_log")).scalars())
            assert {"account.exported", "account.deleted"} <= actions
    finally:
        engine.dispose()


def test_smtp_outage_delays_the_welcome_email_but_never_loses_it(stack: Stack) -> None:
    stack.sink.stop()
    try:
        hal = enroll(stack, "hal")
        write_status(stack, hal.enrollment, "https://discord.gg/hal" + stack.run)
        engine = create_engine(stack.database_url)
        try:
            with engine.connect() as db:
                _wait(
                    lambda: db.execute(
                        text(
                            "SELECT o.attempts FROM email_outbox o JOIN users u ON u.id = o.user_id"
                            " WHERE u.email = :e AND o.last_error IS NOT NULL"
                        ),
                        {"e": hal.email},
                    ).scalar(),
                    "a failed delivery attempt",
                )
        finally:
            engine.dispose()
    finally:
        stack.sink.start()
    token, _ = welcome_token(stack, hal)
    with stack.http() as http:
        answer = http.post(
            "/api/accounts/set-password/", json={"token": token, "password": PASSWORD}
        )
        assert answer.status_code == 200
