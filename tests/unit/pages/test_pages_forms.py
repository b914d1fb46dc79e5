"""The pages as a browser without JavaScript sees them: plain HTML forms, server-rendered state.

The whole app runs in-process on a SQLite file with a real SMTP server (aiosmtpd), the offline
checkout and an in-memory cluster holding the shipped tracks; the status cache is fed the
enrollment object the operator would write.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.accounts.models import OutboxMessage
from apranova_api.accounts.password_tokens import (
    PURPOSE_SET_PASSWORD,
    issue_password_token,
)
from apranova_api.accounts.passwords import hash_password
from apranova_api.accounts.welcome import PASSWORD_RESET
from apranova_api.adapters.status_cache import apply_event
from apranova_api.app import create_app
from apranova_api.config import ApiSettings
from apranova_api.db import make_engine
from apranova_api.main import own_base_url
from apranova_api.migrate import upgrade_to_head
from apranova_api.models import Enrollment, User
from apranova_api.payments.fulfil import progress_rows
from apranova_api.services import Services
from apranova_api.settings import Settings
from tests.support.smtp import SmtpSink
from tests.support.students import paid_student
from tests.unit.api.payments_harness import MemoryCluster

SITE = "http://testserver"
PASSWORD = "a sturdy passphrase 42"
TRACKS_DIR = Path(__file__).resolve().parents[3] / "manifests" / "tracks"
SHIPPED_TRACKS = [yaml.safe_load(path.read_text()) for path in sorted(TRACKS_DIR.glob("*.yaml"))]
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@dataclass
class Site:
    client: TestClient
    services: Services
    app: Any

    def db(self) -> Session:
        return self.services.sessions()

    def student(self, track: str = "FSD", password: str | None = PASSWORD) -> User:
        with self.db() as session, session.begin():
            user = paid_student("Ada Lovelace", track)
            user.password_hash = hash_password(password) if password else None
            session.add(user)
            session.flush()
            session.add_all(progress_rows(user.id, track))
            session.expunge(user)
        return user

    def link(self, user: User, now: datetime | None = None) -> str:
        with self.db() as session, session.begin():
            return issue_password_token(
                session,
                user_id=user.id,
                purpose=PURPOSE_SET_PASSWORD,
                ttl=timedelta(hours=1),
                now=now or datetime.now(UTC),
            )

    def login(self, password: str = PASSWORD, client: str = "198.51.100.7") -> Any:
        return self.client.post(
            "/login",
            data={"email": "ada@example.com", "password": password, "next": "/dashboard"},
            headers={"X-Forwarded-For": client},
            follow_redirects=False,
        )

    def enrollment_status(self, status: dict[str, Any]) -> None:
        """Put the enrollment ``ada`` with ``status`` into the status cache, as a watch would."""
        cache = self.app.state.services.status_cache
        obj = {"metadata": {"name": "ada"}, "spec": {"student": {"username": "ada"}}}
        apply_event(cache._views, cache._owners, "ADDED", {**obj, "status": status})
        cache._synced.set()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    sink = SmtpSink()
    sink.start()
    for name, value in {
        "KUBECONFIG": str(tmp_path / "no-cluster.yaml"),
        "SMTP_URL": sink.url,
        "PUBLIC_BASE_URL": SITE,
        "OUTBOX_POLL_SECONDS": "0.2",
        "WELCOME_INVITE_WAIT_SECONDS": "0",
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": "3",
        "TRUST_FORWARDED_FOR": "true",
    }.items():
        monkeypatch.setenv(name, value)
    database_url = f"sqlite:///{tmp_path / 'site.db'}"
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    engine.dispose()
    settings = Settings(
        APRANOVA_ENV="test", DATABASE_URL=database_url, ALLOWED_REDIRECT_ORIGINS=SITE
    )
    cluster = MemoryCluster(tracks={t["metadata"]["name"]: t for t in SHIPPED_TRACKS})
    app = create_app(ApiSettings(payments=settings), kube=cluster, repair=False)
    with TestClient(app, base_url=SITE) as client:
        yield Site(client, app.state.services, app)
    sink.stop()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- forms that work as plain HTML posts -------------------------------------------------------


def test_login_form_posts_and_redirects_with_the_session_cookie(site: Site) -> None:
    site.student()
    page = site.client.get("/login?next=/dashboard").text
    assert '<form id="login-form" class="card" method="post" action="/login"' in page
    answer = site.login()
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"
    assert "apranova_session=" in answer.headers["set-cookie"]
    assert "HttpOnly" in answer.headers["set-cookie"]


def test_wrong_password_shows_the_form_again_without_the_password(site: Site) -> None:
    site.student()
    answer = site.login(password="not the password at all")
    assert answer.status_code == 401
    assert "do not match" in answer.text
    assert 'value="ada@example.com"' in answer.text
    assert "not the password at all" not in answer.text


def test_cross_site_form_posts_are_refused(site: Site) -> None:
    site.student()
    answer = site.client.post(
        "/login",
        data={"email": "ada@example.com", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    for origin, status in [("null", 403), ("http://127.0.0.1:1", 403)]:
        refused = site.client.post("/logout", headers={"Origin": origin}, follow_redirects=False)
        assert refused.status_code == status, origin
    same = site.client.post(
        "/login",
        data={"email": "ada@example.com", "password": PASSWORD},
        headers={"Origin": SITE},
        follow_redirects=False,
    )
    assert same.status_code == 303


def test_enroll_form_starts_a_checkout(site: Site) -> None:
    page = site.client.get("/get-started").text
    assert 'action="/get-started/checkout"' in page
    answer = site.client.post("/get-started/checkout", data={"track": "DP"}, follow_redirects=False)
    assert answer.status_code == 303
    assert urlsplit(answer.headers["location"]).path.startswith("/checkout/local/cs_local_")
    unknown = site.client.post("/get-started/checkout", data={"track": "NOPE"})
    assert unknown.status_code == 400
    assert 'id="checkout-error"' in unknown.text and "NOPE" in unknown.text


def test_set_password_form_then_login_with_the_email_filled_in(site: Site) -> None:
    user = site.student(password=None)
    token = site.link(user)
    page = site.client.get(f"/set-password?token={token}").text
    assert 'method="post" action="/set-password"' in page
    different = site.client.post(
        "/set-password", data={"token": token, "password": PASSWORD, "confirm": "other"}
    )
    assert different.status_code == 422 and "different" in different.text
    short = site.client.post(
        "/set-password", data={"token": token, "password": "short", "confirm": "short"}
    )
    assert short.status_code == 422 and "12 characters" in short.text
    answer = site.client.post(
        "/set-password",
        data={"token": token, "password": PASSWORD, "confirm": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?password_set=1"
    assert "ada" not in answer.headers["location"]
    login_page = site.client.get("/login?password_set=1").text
    assert "Your password is set." in login_page
    assert 'value="ada@example.com"' in login_page
    assert site.login().status_code == 303


@pytest.mark.parametrize("case", ["used", "expired", "garbled", "missing"])
def test_a_link_that_cannot_work_says_so_before_the_form(site: Site, case: str) -> None:
    user = site.student(password=None)
    if case == "used":
        token = site.link(user)
        site.client.post(
            "/set-password", data={"token": token, "password": PASSWORD, "confirm": PASSWORD}
        )
    elif case == "expired":
        token = site.link(user, now=datetime.now(UTC) - timedelta(days=2))
    else:
        token = "garbled-%%-token" if case == "garbled" else ""
    page = site.client.get("/set-password", params={"token": token})
    assert page.status_code in (400, 410)
    expected = {
        "used": "already been used",
        "expired": "expired",
        "garbled": "not valid",
        "missing": "no token",
    }[case]
    assert expected in page.text
    assert 'id="set-password-form"' not in page.text
    assert 'id="reset-form"' in page.text


def _reset_emails(site: Site) -> list[OutboxMessage]:
    with site.db() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == PASSWORD_RESET)
        return list(session.scalars(query.order_by(OutboxMessage.id)))


def test_reset_form_answers_and_a_second_request_is_queued_not_dropped(site: Site) -> None:
    site.student()
    first = site.client.post(
        "/password-reset", data={"email": "ada@example.com"}, follow_redirects=False
    )
    assert first.status_code == 303
    assert first.headers["location"].startswith("/login?reset=sent")
    assert "on its way" in site.client.get(first.headers["location"]).text
    deadline = time.monotonic() + 30
    while _reset_emails(site)[0].sent_at is None:
        assert time.monotonic() < deadline, "the first reset email was never sent"
        time.sleep(0.1)
    site.client.post("/password-reset", data={"email": "ada@example.com"})
    site.client.post("/password-reset", data={"email": "ada@example.com"})
    emails = _reset_emails(site)
    assert len(emails) == 2, "the second request is queued once, the third adds nothing"
    first_at = emails[0].created_at.replace(tzinfo=UTC)
    assert emails[1].next_attempt_at.replace(tzinfo=UTC) == first_at + timedelta(minutes=1)
    bad = site.client.post("/password-reset", data={"email": "not an email"})
    assert bad.status_code == 422 and "such as name@example.com" in bad.text


# --- lockouts a stranger cannot cause -----------------------------------------------------------


def test_a_stranger_cannot_lock_the_student_out_and_a_reset_lifts_a_lock(site: Site) -> None:
    user = site.student()
    for _ in range(3):
        site.login(password="guessing wrong", client="203.0.113.66")
    locked = site.login(client="203.0.113.66")
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "Forgot your password?" in locked.text
    assert 'href="#reset-title"' in locked.text
    assert site.login(client="198.51.100.7").status_code == 303, "the student is not locked"

    for _ in range(3):
        site.login(password="mistyped", client="198.51.100.7")
    assert site.login(client="198.51.100.7").status_code == 429
    token = site.link(user)
    site.client.post(
        "/set-password", data={"token": token, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert site.login(client="198.51.100.7").status_code == 303, "the reset lifts the lock"


# --- headers on every page and API response ------------------------------------------------------

PATHS = [
    "/get-started",
    "/login",
    "/set-password?token=x",
    "/payment/success",
    "/payment/cancel",
    "/dashboard",
    "/api/accounts/me/",
    "/api/accounts/tools/",
    "/api/curriculum/",
    "/api/payments/verify-checkout-session/?session_id=cs_nope",
    "/healthz",
    "/no-such-page",
    "/static/api.js",
    "/favicon.ico",
]


@pytest.mark.parametrize("logged_in", [False, True])
def test_security_headers_and_no_store_on_every_response(site: Site, logged_in: bool) -> None:
    site.student()
    if logged_in:
        assert site.login().status_code == 303
    for path in PATHS:
        answer = site.client.get(path, follow_redirects=False)
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, f"{path}: {name}"
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, path
        assert answer.headers["x-request-id"], path
        cacheable = path.startswith(("/static/", "/favicon.ico"))
        assert (answer.headers.get("cache-control") == "no-store") is not cacheable, path
    for method, path in [("POST", "/login"), ("POST", "/api/accounts/logout/")]:
        answer = site.client.request(method, path, follow_redirects=False)
        assert answer.headers["cache-control"] == "no-store", path
        assert answer.headers["x-frame-options"] == "DENY", path


def test_pages_use_no_inline_script_or_style() -> None:
    """The CSP allows only this site's files: no template may rely on inline code."""
    templates = Path(__file__).resolve().parents[3] / "api" / "apranova_api" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text()
        assert re.search(r"<script(?![^>]*\bsrc=)", text) is None, template.name
        assert " style=" not in text and "<style" not in text, template.name
        assert not re.search(r"\son[a-z]+=", text), template.name


# --- rough edges --------------------------------------------------------------------------------


def test_header_shows_log_out_instead_of_log_in_when_logged_in(site: Site) -> None:
    site.student()
    assert ">Log in</a>" in site.client.get("/get-started").text
    site.login()
    page = site.client.get("/get-started").text
    assert ">Log in</a>" not in page
    assert 'action="/logout"' in page


def test_favicon(site: Site) -> None:
    answer = site.client.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("image/svg+xml")


def test_logout_form_ends_the_session(site: Site) -> None:
    site.student()
    site.login()
    assert site.client.get("/api/accounts/me/").status_code == 200
    answer = site.client.post("/logout", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert site.client.get("/api/accounts/me/").status_code == 401
    assert site.client.get("/dashboard", follow_redirects=False).status_code == 303


def test_dashboard_without_javascript(site: Site) -> None:
    site.student("FSD")
    assert site.client.get("/dashboard", follow_redirects=False).headers["location"] == (
        "/login?next=%2Fdashboard"
    )
    site.login()
    page = site.client.get("/dashboard").text
    assert "Welcome, Ada!" in page
    assert 'id="track-name">Full-Stack Developer<' in page
    assert "reload it to see your tools" in page
    assert _text(page).count("Mark done") == 4, "the first project's 4 steps, shown once"
    assert "Your environment's status is not available yet." in html.unescape(page)


def test_dashboard_shows_the_github_repository_and_no_operator_jargon(site: Site) -> None:
    site.student("FSD")
    site.login()
    repository = "https://github.com/apranova-students/student-ada"
    site.enrollment_status(
        {
            "phase": "Provisioning",
            "tools": [
                {
                    "name": "vscode",
                    "url": "https://vscode-ada.example",
                    "ready": False,
                    "message": "waiting for the tool to pass its readiness probe",
                }
            ],
            "integrations": {"githubRepository": repository},
        }
    )
    tools = site.client.get("/api/accounts/tools/").json()
    assert tools["github_repository"] == repository
    page = site.client.get("/dashboard").text
    assert f'href="{repository}"' in page
    assert "readiness probe" not in page
    assert "Starting up" in page
    part = site.client.get("/dashboard/parts/tools").text
    assert 'id="tools"' in part and repository in part


def test_mark_done_form_moves_progress_and_returns_to_the_project(site: Site) -> None:
    site.student("DP")
    site.login()
    page = site.client.get("/dashboard").text
    action = re.search(r'action="(/dashboard/steps/[^"]+/complete)"', page).group(1)
    answer = site.client.post(action, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard#project-title"
    assert "1 of " in site.client.get("/dashboard/parts/curriculum").text
    locked = site.client.post("/dashboard/steps/no-such-step/complete")
    assert locked.status_code == 404 and "have no step" in locked.text


def test_dashboard_renders_every_track_held_without_javascript(site: Site) -> None:
    user = site.student("DP")
    with site.db() as session, session.begin():
        session.add(
            Enrollment(
                user_id=user.id,
                track="FSD",
                name="ada-fsd",
                state="SUSPENDED",
                suspension_reason="the payment was disputed",
            )
        )
        session.add_all(progress_rows(user.id, "FSD"))
    site.login()
    page = site.client.get("/dashboard").text
    text = html.unescape(_text(page))
    assert 'id="track-name">Data Professional<' in page
    assert 'data-enrollment="ada-fsd"' in page and 'id="tools-ada-fsd"' in page
    assert "This track is suspended: the payment was disputed." in text
    assert text.count("Mark done") == 4 + 4, "each track's first project, once"
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in set(ids) if ids.count(i) > 1)
    fsd_action = re.search(r'action="(/dashboard/steps/fsd[^"]+/complete)"', page).group(1)
    answer = site.client.post(fsd_action, follow_redirects=False)
    assert answer.headers["location"] == "/dashboard#project-title-ada-fsd"
    part = site.client.get("/dashboard/parts/curriculum?enrollment=ada-fsd").text
    assert 'id="curriculum-panel-ada-fsd"' in part and "1 of " in part
    assert "0 of " in site.client.get("/dashboard/parts/curriculum").text
    tools = site.client.get("/dashboard/parts/tools?enrollment=ada-fsd").text
    assert "its tools are paused" in tools
    assert site.client.get("/dashboard/parts/tools?enrollment=bob").status_code == 404


def test_success_page_waits_then_welcomes_with_the_track_name(site: Site) -> None:
    checkout = site.client.post(
        "/get-started/checkout", data={"track": "DP"}, follow_redirects=False
    )
    session_id = checkout.headers["location"].rsplit("/", 1)[1]
    waiting = site.client.get(f"/payment/success?session_id={session_id}").text
    assert "Confirming your payment" in waiting
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in waiting
    assert "reloads itself" in waiting
    site.client.post(
        f"/checkout/local/{session_id}", data={"email": "grace@example.com", "name": "Grace"}
    )
    welcome = site.client.get(f"/payment/success?session_id={session_id}").text
    assert "Welcome to ApraNova!" in welcome
    assert 'id="welcome-track">Data Professional<' in welcome
    assert "grace@example.com" in welcome
    missing = site.client.get("/payment/success")
    assert missing.status_code == 400 and "no checkout session" in missing.text
    unknown = site.client.get("/payment/success?session_id=cs_local_unknown")
    assert unknown.status_code == 404 and "could not find this checkout" in unknown.text


# --- operations ---------------------------------------------------------------------------------


def test_access_log_has_method_path_status_duration_and_request_id(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="apranova_api.access"):
        answer = site.client.get(
            "/set-password?token=secret-token", headers={"X-Request-ID": "req-42"}
        )
    assert answer.headers["x-request-id"] == "req-42"
    (record,) = [r for r in caplog.records if r.name == "apranova_api.access"]
    fields = record.fields
    assert fields["method"] == "GET"
    assert fields["path"] == "/set-password"
    assert fields["status"] == 400
    assert fields["duration_ms"] >= 0
    assert fields["request_id"] == "req-42"
    assert "secret-token" not in record.getMessage()


def test_public_base_url_follows_the_api_address() -> None:
    assert own_base_url("0.0.0.0", 9123) == "http://127.0.0.1:9123"
    assert own_base_url("api.internal", 8000) == "http://api.internal:8000"
