"""The student journey in a real browser (Debian's Chromium driven by Playwright for Python).

Everything behind the pages is real: the local control plane with the operator, PostgreSQL, the
API in offline checkout mode and an SMTP server. Screenshots of every page go to
``<test output>/screenshots/``.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from apranova_api.accounts.models import OutboxMessage
from apranova_api.accounts.password_tokens import PURPOSE_SET_PASSWORD, issue_password_token
from apranova_api.accounts.passwords import hash_password
from apranova_api.models import Enrollment, User
from apranova_api.payments.fulfil import progress_rows
from tests.conftest import kubectl
from tests.support.api_process import ApiProcess
from tests.support.operator_process import OperatorProcess, free_port, start_operator
from tests.support.smtp import SmtpSink, body_of

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.postgres,
    pytest.mark.browser,
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUN_LABEL = "apranova.io/e2e-run"
COMMUNITY_URL = "https://discord.gg/apranova-e2e"
PHONE = {"width": 390, "height": 844}
PROVISIONING_TIMEOUT_MS = 240_000
"""Bounded wait for the operator to bring every tool up on the shared control plane."""


@dataclass
class Stack:
    """The running system the pages talk to."""

    api: ApiProcess
    smtp: SmtpSink
    database_url: str
    suffix: str
    kubeconfig: str
    screenshots: Path

    def screenshot(self, page: Page, name: str) -> None:
        page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def stack(crds_applied: str, postgres_server, test_output_dir: Path) -> Iterator[Stack]:
    """Operator, SMTP sink and API for this module; enrollments labelled for this run only."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (make setup)")
    suffix = secrets.token_hex(4)
    selector = f"{RUN_LABEL}=pages-{suffix}"
    api_database = postgres_server.create_database(f"pages_api_{suffix}")
    student_database = postgres_server.create_database(f"pages_students_{suffix}")
    smtp = SmtpSink()
    smtp.start()
    operator: OperatorProcess = start_operator(
        crds_applied,
        {
            "ENROLLMENT_SELECTOR": selector,
            "STUDENT_DB_ADMIN_URL": student_database,
            "TOOL_URL_SCHEME": "http",
            "DISCORD_INVITE_URL": COMMUNITY_URL,
        },
        test_output_dir / f"pages-operator-{suffix}.log",
    )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    api = ApiProcess(
        env={
            "APRANOVA_ENV": "test",
            "KUBECONFIG": crds_applied,
            "DATABASE_URL": api_database,
            "ENROLLMENT_LABELS": selector,
            "ALLOWED_REDIRECT_ORIGINS": base_url,
            "PUBLIC_BASE_URL": base_url,
            "SMTP_URL": smtp.url,
            "DISCORD_COMMUNITY_URL": COMMUNITY_URL,
            "STRIPE_SECRET_KEY": "",
        },
        log_path=test_output_dir / f"pages-api-{suffix}.log",
        port=port,
    ).start()
    screenshots = test_output_dir / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    try:
        yield Stack(api, smtp, api_database, suffix, crds_applied, screenshots)
    finally:
        kubectl(
            crds_applied,
            "delete",
            "studentenrollments",
            "-l",
            selector,
            "--wait=true",
            "--timeout=180s",
            check=False,
        )
        api.stop()
        operator.stop()
        smtp.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    yield context.new_page()
    context.close()


def add_student(stack: Stack, password: str | None) -> User:
    """A student row written straight into the API's database (no enrollment, no email)."""
    engine = create_engine(stack.database_url)
    email = f"pat-{secrets.token_hex(4)}@example.com"
    with Session(engine) as session, session.begin():
        user = User(
            email=email,
            name="Pat Example",
            username=email.split("@")[0],
            track="DP",
            payment_verified=True,
            privacy_accepted=True,
            password_hash=hash_password(password) if password else None,
            enrollments=[Enrollment(track="DP", name=email.split("@")[0])],
        )
        session.add(user)
        session.flush()
        session.add_all(progress_rows(user.id, "DP"))
        session.expunge(user)
    engine.dispose()
    return user


def set_password_link(stack: Stack, email: str) -> str:
    """The set-password link of the welcome email that the SMTP server received for ``email``."""
    message = stack.smtp.wait_for(lambda m: email in str(m["To"]), timeout=120)
    match = re.search(r"https?://\S+/set-password\?token=[\w\-%.~]+", body_of(message))
    assert match, f"no set-password link in the welcome email:\n{body_of(message)}"
    wait_until_recorded_as_sent(stack, email)
    return match.group(0)


def wait_until_recorded_as_sent(stack: Stack, email: str, timeout: float = 60) -> None:
    """Wait until the outbox has committed the sent email (and with it the link's token).

    The SMTP server has the message a moment before the sender's transaction commits, so a
    test that opens the link at once could find it unknown.
    """
    engine = create_engine(stack.database_url)
    query = (
        select(OutboxMessage.id)
        .join(User, User.id == OutboxMessage.user_id)
        .where(User.email == email, OutboxMessage.sent_at.is_not(None))
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            with Session(engine) as session:
                if session.scalars(query).first() is not None:
                    return
            assert time.monotonic() < deadline, f"the email to {email} was never recorded as sent"
            time.sleep(0.2)
    finally:
        engine.dispose()


def test_the_whole_journey(stack: Stack, page: Page, browser: Browser) -> None:
    email = f"ada-{stack.suffix}@example.com"
    password = f"correct horse {stack.suffix} battery"
    requested = record_requests(page)

    # 1. Track selection.
    page.goto(f"{stack.api.url}/get-started")
    expect(
        page.locator('[data-track="DP"]').get_by_role("heading", name="Data Professional")
    ).to_be_visible()
    expect(
        page.locator('[data-track="FSD"]').get_by_role("heading", name="Full-Stack Developer")
    ).to_be_visible()
    expect(page.locator('[data-track="DP"] .track__price')).to_contain_text("$499")
    expect(page.locator('[data-track="FSD"] .track__price')).to_contain_text("$599")
    expect(page.locator('[data-track="DP"] .tags')).to_contain_text("JupyterLab")
    stack.screenshot(page, "01-get-started")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    enroll = page.locator('[data-track="DP"]').get_by_role(
        "button", name="Enroll in Data Professional"
    )
    enroll.focus()
    page.keyboard.press("Enter")

    # 2. The offline checkout page stands in for Stripe.
    page.wait_for_url(re.compile(r"/checkout/local/"))
    stack.screenshot(page, "02-local-checkout")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Full name").fill("Ada Lovelace")

    # 3. The success page: the local checkout delivered the webhook, so the server renders the
    # welcome at once (the waiting state has its own test below).
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(re.compile(r"/payment/success\?session_id=cs_"))
    expect(page.get_by_role("heading", name="Welcome to ApraNova!")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Check your email for login credentials")).to_be_visible()
    expect(page.locator("#welcome-email")).to_have_text(email)
    expect(page.locator("#welcome-track")).to_have_text("Data Professional")
    for step in ("Check your inbox", "Log in", "Start learning"):
        expect(page.locator(".steps")).to_contain_text(step)
    expect(page.get_by_role("link", name="Go to Login Page")).to_have_attribute("href", "/login")
    expect(page.get_by_role("link", name="Join Our Discord Community")).to_be_visible()
    stack.screenshot(page, "04-success")

    # 4. The set-password link from the real SMTP server.
    link = set_password_link(stack, email)
    assert link.startswith(f"{stack.api.url}/set-password?token=")
    page.goto(link)
    page.get_by_label("New password").fill(password)
    page.get_by_label("Repeat the password").fill(password)
    stack.screenshot(page, "05-set-password")
    page.get_by_role("button", name="Set password").click()

    # 5. Log in.
    page.wait_for_url(re.compile(r"/login\?password_set=1"))
    expect(page.get_by_text("Your password is set.")).to_be_visible()
    expect(page.get_by_label("Email").first).to_have_value(email)
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    expect(page.locator("header").get_by_role("link", name="Log in")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(password)
    stack.screenshot(page, "06-login")
    page.get_by_label("Password", exact=True).press("Enter")

    # 6. The dashboard: track, tools turning ready, first project, curriculum, Discord.
    page.wait_for_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="Welcome, Ada!")).to_be_visible()
    expect(page.locator("#track-name")).to_have_text("Data Professional")
    expect(page.locator("#first-project")).to_contain_text("SQL foundations")
    expect(page.locator("#first-project .status").first).to_have_text("Unlocked")
    expect(page.locator("#progress-text")).to_contain_text("0 of ")
    expect(page.get_by_role("link", name="Join Our Discord Community")).to_be_visible()
    stack.screenshot(page, "07-dashboard-provisioning")
    cards = page.locator("#tools [data-tool]")
    expect(cards).to_have_count(3, timeout=PROVISIONING_TIMEOUT_MS)
    expect(page.locator("#tools .status--ready")).to_have_count(3, timeout=PROVISIONING_TIMEOUT_MS)
    expect(page.locator("#tools-status")).to_have_text("All your tools are ready.")
    for label in ("JupyterLab", "Superset", "Prefect"):
        tool_link = page.get_by_role("link", name=f"Open {label}")
        expect(tool_link).to_have_attribute("href", re.compile(r"^http://"))
        expect(tool_link).to_have_attribute("target", "_blank")
    stack.screenshot(page, "08-dashboard-ready")

    # The offline payment is recorded as such, and `kubectl get se -o wide` shows more columns.
    wide = kubectl(
        stack.kubeconfig, "get", "se", "-l", f"{RUN_LABEL}=pages-{stack.suffix}", "-o", "wide"
    ).stdout
    header, row = wide.splitlines()[0].split(), wide.splitlines()[1].split()
    assert header[-5:] == ["READY", "REASON", "SUSPENDED", "PROVIDER", "READY-AT"], wide
    assert row[header.index("PROVIDER")] == "local", wide
    assert row[header.index("READY")] in ("True", "False"), wide

    # The first project is shown once: one "Mark done" per step. Marking the first step done
    # moves the bar and puts focus on the next step's button, not the page body.
    expect(page.get_by_role("button", name=re.compile(r"^Mark "))).to_have_count(4)
    expect(page.get_by_role("button", name="Log out").first).to_be_visible()
    expect(page.locator("header").get_by_role("link", name="Log in")).to_have_count(0)
    page.get_by_role("button", name=re.compile(r"^Mark .Connect to your PostgreSQL")).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#progress-text")).to_contain_text("1 of ")
    expect(page.get_by_role("button", name=re.compile(r"^Mark "))).to_have_count(3)
    expect(page.locator("#first-project form.mark-done button").first).to_be_focused()
    expect(page.locator("#progress-announcer")).to_contain_text("is done")
    assert_no_password_in_urls(requested, password)

    # The same dashboard on a phone-sized screen, with the same session.
    phone = page.context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(f"{stack.api.url}/dashboard")
    expect(phone.locator("#tools .status--ready")).to_have_count(3, timeout=60_000)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    stack.screenshot(phone, "09-dashboard-phone")
    phone.goto(f"{stack.api.url}/get-started")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    stack.screenshot(phone, "10-get-started-phone")


def record_requests(page: Page) -> list[str]:
    """Every URL the page requests from now on (navigations, scripts, fetches)."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def assert_no_password_in_urls(urls: list[str], password: str) -> None:
    encoded = {password, quote_plus(password), quote(password)}
    leaked = [url for url in urls if any(form in url for form in encoded) or "password=" in url]
    assert leaked == [], f"a password travelled in a URL: {leaked}"


def test_wrong_password_is_refused(stack: Stack, page: Page) -> None:
    student = add_student(stack, password="the right password 42")
    page.goto(f"{stack.api.url}/login")
    page.get_by_label("Email").first.fill(student.email)
    page.get_by_label("Password", exact=True).fill("not the right password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert").filter(has_text="do not match")).to_be_visible()
    assert page.url.endswith("/login")
    stack.screenshot(page, "11-login-wrong-password")


def test_expired_link_says_so_and_offers_a_new_one(stack: Stack, page: Page) -> None:
    student = add_student(stack, password=None)
    engine = create_engine(stack.database_url)
    with Session(engine) as session, session.begin():
        token = issue_password_token(
            session,
            user_id=student.id,
            purpose=PURPOSE_SET_PASSWORD,
            ttl=timedelta(hours=1),
            now=datetime.now(UTC) - timedelta(days=2),
        )
    engine.dispose()
    page.goto(f"{stack.api.url}/set-password?token={token}")
    expect(page.get_by_role("alert").filter(has_text="expired")).to_be_visible()
    expect(page.get_by_label("New password")).to_have_count(0)
    expect(page.locator("#new-link")).to_be_visible()
    stack.screenshot(page, "12-set-password-expired")

    page.get_by_label("Email").fill(student.email)
    page.get_by_role("button", name="Send me a new link").click()
    page.wait_for_url(re.compile(r"/login\?reset=sent"))
    expect(page.locator("#reset-message")).to_contain_text("on its way")
    message = stack.smtp.wait_for(lambda m: student.email in str(m["To"]), timeout=120)
    assert "/set-password?token=" in body_of(message)


def test_unknown_session_on_the_success_page(stack: Stack, page: Page) -> None:
    page.goto(f"{stack.api.url}/payment/success?session_id=cs_local_unknown_{stack.suffix}")
    expect(page.get_by_role("heading", name="We could not find this checkout")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the tracks")).to_be_visible()
    stack.screenshot(page, "13-success-unknown-session")


def test_cancelled_checkout_leads_back(stack: Stack, page: Page) -> None:
    page.goto(f"{stack.api.url}/payment/cancel")
    page.get_by_role("link", name="Back to the tracks").click()
    page.wait_for_url(re.compile(r"/get-started$"))


def _pay_offline(stack: Stack, page: Page, track: str, email: str) -> None:
    page.goto(f"{stack.api.url}/get-started")
    page.locator(f'[data-track="{track}"]').get_by_role(
        "button", name=re.compile(r"^Enroll in ")
    ).click()
    page.wait_for_url(re.compile(r"/checkout/local/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Full name").fill("Pat Example")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(re.compile(r"/payment/success\?session_id=cs_"))


def test_a_second_track_and_a_duplicate_in_the_browser(stack: Stack, page: Page) -> None:
    password = f"two tracks {stack.suffix} please"
    student = add_student(stack, password=password)
    _pay_offline(stack, page, "FSD", student.email.upper())
    expect(page.get_by_role("heading", name="Welcome to ApraNova!")).to_be_visible(timeout=60_000)
    added = stack.smtp.wait_for(
        lambda m: student.email in str(m["To"]) and "dashboard" in str(m["Subject"]), timeout=120
    )
    assert "/dashboard" in body_of(added) and "set-password" not in body_of(added)

    _pay_offline(stack, page, "FSD", student.email)
    expect(page.get_by_role("heading", name="You already hold this track")).to_be_visible(
        timeout=60_000
    )
    expect(page.locator("#verify-problem")).to_contain_text("refunded in full")
    stack.screenshot(page, "14-success-duplicate-refunded")

    page.goto(f"{stack.api.url}/login")
    page.get_by_label("Email").first.fill(student.email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password", exact=True).press("Enter")
    page.wait_for_url(re.compile(r"/dashboard$"))
    expect(page.locator("#track-list li")).to_have_count(2)
    expect(page.locator("#track-name")).to_have_text("Data Professional")
    section = page.locator(f'[data-enrollment="{student.username}-fsd"]')
    expect(section.get_by_role("heading", name="Full-Stack Developer")).to_be_visible()
    expect(section.locator("[data-progress]")).to_contain_text(" steps done")
    expect(section.locator("[data-tool] .status--ready")).to_have_count(
        1, timeout=PROVISIONING_TIMEOUT_MS
    )
    stack.screenshot(page, "15-dashboard-two-tracks")


def test_without_javascript_every_form_works_and_no_password_is_in_a_url(
    stack: Stack, browser: Browser
) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1200, "height": 900}
    )
    page = context.new_page()
    requested = record_requests(page)
    password = f"no script needed {stack.suffix}"

    # Enroll and pay: the success page is rendered by the server.
    email = f"noscript-{stack.suffix}@example.com"
    page.goto(f"{stack.api.url}/get-started")
    page.locator('[data-track="DP"]').get_by_role(
        "button", name="Enroll in Data Professional"
    ).click()
    page.wait_for_url(re.compile(r"/checkout/local/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Full name").fill("Noor Script")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(re.compile(r"/payment/success\?session_id=cs_"))
    expect(page.get_by_role("heading", name="Welcome to ApraNova!")).to_be_visible(timeout=30_000)
    expect(page.locator("#welcome-track")).to_have_text("Data Professional")
    stack.screenshot(page, "20-noscript-success")

    # Set the password from the emailed link, then log in with the email pre-filled.
    page.goto(set_password_link(stack, email))
    page.get_by_label("New password").fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url(re.compile(r"/login\?password_set=1"))
    expect(page.get_by_label("Email").first).to_have_value(email)
    page.get_by_label("Password", exact=True).fill("a wrong password, typed")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert").filter(has_text="do not match")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()

    # The dashboard's content, rendered by the server, with an honest note about reloading.
    page.wait_for_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="Welcome, Noor!")).to_be_visible()
    expect(page.locator("#track-name")).to_have_text("Data Professional")
    # Playwright's text selectors skip <noscript>; the note is found by its element.
    expect(page.locator("noscript .hint")).to_be_visible()
    expect(page.locator("noscript .hint")).to_contain_text("reload it to see your tools")
    expect(page.locator("#first-project")).to_contain_text("SQL foundations")
    expect(page.get_by_role("button", name=re.compile(r"^Mark "))).to_have_count(4)
    stack.screenshot(page, "21-noscript-dashboard")
    page.get_by_role("button", name=re.compile(r"^Mark ")).first.click()
    page.wait_for_url(re.compile(r"/dashboard#project-title$"))
    expect(page.locator("#progress-text")).to_contain_text("1 of ")
    page.get_by_role("button", name="Log out").first.click()
    page.wait_for_url(re.compile(r"/login$"))

    # Forgot your password? also works as a plain form.
    page.get_by_label("Email").nth(1).fill(email)
    page.get_by_role("button", name="Send me a link").click()
    page.wait_for_url(re.compile(r"/login\?reset=sent"))
    expect(page.locator("#reset-message")).to_contain_text("on its way")

    assert_no_password_in_urls(requested, password)
    assert not any("a wrong password" in url or "a+wrong+password" in url for url in requested)
    context.close()


def test_success_page_waits_without_javascript_and_reloads_itself(
    stack: Stack, browser: Browser
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{stack.api.url}/get-started")
    page.locator('[data-track="FSD"]').get_by_role(
        "button", name="Enroll in Full-Stack Developer"
    ).click()
    page.wait_for_url(re.compile(r"/checkout/local/"))
    checkout_url = page.url
    session_id = checkout_url.rsplit("/", 1)[1]
    page.goto(f"{stack.api.url}/payment/success?session_id={session_id}")
    expect(page.get_by_role("heading", name="Confirming your payment…")).to_be_visible()
    expect(page.locator("noscript p")).to_contain_text("This page reloads itself")
    stack.screenshot(page, "22-noscript-success-waiting")

    payer = context.new_page()
    payer.goto(checkout_url)
    payer.get_by_label("Email").fill(f"wait-{stack.suffix}@example.com")
    payer.get_by_label("Full name").fill("Wai Ting")
    payer.get_by_role("button", name=re.compile(r"^Pay ")).click()
    payer.wait_for_url(re.compile(r"/payment/success"))

    expect(page.get_by_role("heading", name="Welcome to ApraNova!")).to_be_visible(timeout=30_000)
    expect(page.locator("#welcome-track")).to_have_text("Full-Stack Developer")
    context.close()


def test_back_after_logout_shows_no_personal_data(stack: Stack, page: Page) -> None:
    password = "the right password 43"
    student = add_student(stack, password=password)
    page.goto(f"{stack.api.url}/login")
    page.get_by_label("Email").first.fill(student.email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="Welcome, Pat!")).to_be_visible()
    page.goto(f"{stack.api.url}/api/accounts/me/")
    expect(page.locator("body")).to_contain_text(student.email)
    page.goto(f"{stack.api.url}/dashboard")
    page.get_by_role("button", name="Log out").first.click()
    page.wait_for_url(re.compile(r"/login$"))

    page.go_back()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Welcome, Pat")
    page.go_back()
    page.wait_for_load_state()
    expect(page.locator("body")).not_to_contain_text(student.email)
    expect(page.locator("body")).to_contain_text("Log in first")
