"""The accounts routes in-process: a SQLite file, a real SMTP server, no cluster.

Without a cluster the status cache never syncs, so the tools answer 503 and ``phase`` is None;
everything else (links, passwords, sessions, throttling, progress) works as in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from apranova_api.accounts.welcome import enqueue_welcome_email
from apranova_api.app import create_app
from apranova_api.config import ApiSettings
from apranova_api.db import make_engine, make_session_factory
from apranova_api.migrate import upgrade_to_head
from apranova_api.models import Enrollment, User
from apranova_api.payments.fulfil import progress_rows
from apranova_api.settings import Settings
from tests.support.smtp import SmtpSink, body_of
from tests.support.students import paid_student

PASSWORD = "a sturdy passphrase 42"
TOKEN_IN_LINK = re.compile(r"/set-password\?token=([A-Za-z0-9_\-]+)")


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, SmtpSink]]:
    sink = SmtpSink()
    sink.start()
    database_url = f"sqlite:///{tmp_path / 'api.db'}"
    for name, value in {
        "KUBECONFIG": str(tmp_path / "no-cluster.yaml"),
        "SMTP_URL": sink.url,
        "PUBLIC_BASE_URL": "https://apranova.test",
        "OUTBOX_POLL_SECONDS": "0.2",
        "WELCOME_INVITE_WAIT_SECONDS": "0",
        "LOGIN_MAX_FAILURES_PER_CLIENT": "2",
        "TRUST_FORWARDED_FOR": "true",
        "SESSION_COOKIE_DOMAIN": ".apranova.test",
    }.items():
        monkeypatch.setenv(name, value)
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    sessions = make_session_factory(engine)
    with sessions() as session, session.begin():
        user = paid_student("Ada", "FSD")
        session.add(user)
        session.flush()
        session.add_all(progress_rows(user.id, "FSD"))
        enqueue_welcome_email(session, user)
    engine.dispose()
    app = create_app(ApiSettings(payments=Settings(DATABASE_URL=database_url)), repair=False)
    with TestClient(app, base_url="https://apranova.test") as client:
        yield client, sink
    sink.stop()


def _login(client: TestClient, password: str, ip: str, email: str = "ada@example.com") -> int:
    answer = client.post(
        "/api/accounts/login/",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": f"198.51.100.1, {ip}"},
    )
    return answer.status_code


def test_link_password_login_session_and_progress(api: tuple[TestClient, SmtpSink]) -> None:
    client, sink = api
    body = body_of(sink.wait_for(lambda m: m["To"] == "ada@example.com", timeout=30))
    token = TOKEN_IN_LINK.search(body).group(1)
    assert client.get("/api/accounts/me/").status_code == 401
    answer = client.post("/api/accounts/set-password/", json={"token": token, "password": PASSWORD})
    assert answer.status_code == 200, answer.text

    login = client.post(
        "/api/accounts/login/", json={"email": "ADA@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200
    assert "domain=.apranova.test" in login.headers["set-cookie"].lower()
    me = client.get("/api/accounts/me/").json()
    assert (me["username"], me["track"], me["phase"]) == ("ada", "FSD", None)
    assert client.get("/api/accounts/tools/").status_code == 503

    plan = client.get("/api/curriculum/").json()
    step = plan["projects"][0]["steps"][0]["id"]
    done = client.post(f"/api/progress/steps/{step}/complete")
    assert done.json() == {"step_id": step, "status": "done", "unlocked": []}
    assert client.post(f"/api/progress/steps/{step}/complete").status_code == 200
    assert client.post("/api/progress/steps/dp-1-1-connect/complete").status_code == 404

    assert client.post("/api/accounts/logout/").status_code == 204
    assert client.get("/api/accounts/me/").status_code == 401


def test_failures_are_throttled_per_client(api: tuple[TestClient, SmtpSink]) -> None:
    client, sink = api
    body = body_of(sink.wait_for(lambda m: m["To"] == "ada@example.com", timeout=30))
    token = TOKEN_IN_LINK.search(body).group(1)
    client.post("/api/accounts/set-password/", json={"token": token, "password": PASSWORD})
    assert _login(client, "wrong", "203.0.113.9", "someone@example.com") == 401
    assert _login(client, "wrong", "203.0.113.9", "other@example.com") == 401
    assert _login(client, PASSWORD, "203.0.113.9") == 429
    assert _login(client, PASSWORD, "203.0.113.10") == 200


def test_every_track_is_listed_and_has_its_curriculum(api: tuple[TestClient, SmtpSink]) -> None:
    client, sink = api
    body = body_of(sink.wait_for(lambda m: m["To"] == "ada@example.com", timeout=30))
    token = TOKEN_IN_LINK.search(body).group(1)
    client.post("/api/accounts/set-password/", json={"token": token, "password": PASSWORD})
    sessions = client.app.state.services.sessions  # type: ignore[attr-defined]
    with sessions() as session, session.begin():
        user = session.scalars(select(User)).one()
        session.add(
            Enrollment(
                user_id=user.id,
                track="DP",
                name="ada-dp",
                state="SUSPENDED",
                suspension_reason="dispute: fraudulent",
            )
        )
        session.add_all(progress_rows(user.id, "DP"))
    assert _login(client, PASSWORD, "203.0.113.9") == 200
    me = client.get("/api/accounts/me/").json()
    assert (me["track"], me["enrollment_status"]) == ("FSD", "ENROLLED")
    assert [(e["enrollment"], e["track"], e["suspended"]) for e in me["enrollments"]] == [
        ("ada", "FSD", False),
        ("ada-dp", "DP", True),
    ]
    assert me["enrollments"][1]["suspension_reason"] == "dispute: fraudulent"
    assert client.get("/api/curriculum/").json()["track"] == "FSD"
    assert client.get("/api/curriculum/?track=dp").json()["track"] == "DP"
    assert client.get("/api/curriculum/?track=ML").status_code == 404
    done = client.post("/api/progress/steps/dp-1-1-connect/complete")
    assert done.status_code == 200 and done.json()["status"] == "done"
