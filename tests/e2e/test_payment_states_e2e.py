"""Payment states end to end: ``apranova api`` on PostgreSQL and the real control plane, the
Stripe stand-in backed by stripe-mock, a real SMTP server, and the success page in Chromium.

- a delayed payment going ``processing`` -> ``enrolled`` and ``processing`` -> ``failed``, seen
  on the success page (its own polling, the clock fast-forwarded past ``Retry-After``), with the
  emails the buyer receives;
- a 422 from the cluster parking one fulfilment while the repair pass re-creates another
  student's deleted enrollment;
- a permanent Stripe 400 at checkout: a 4xx and no ``OPEN`` order;
- a Stripe that accepts connections and never answers: the webhook answers 503 within
  ``REQUEST_DEADLINE_SECONDS``, verify at once.

No operator runs: an enrollment counts from the moment it exists, and these tests label theirs
so nobody else's operator reconciles them.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from apranova_api.models import Enrollment, Order, ParkedFulfilment, Payment, User
from apranova_api.payments.signature import sign_payload
from tests.conftest import kubectl
from tests.support.api_process import ApiProcess
from tests.support.hanging_server import HangingServer
from tests.support.operator_process import free_port, wait_for
from tests.support.smtp import SmtpSink, body_of
from tests.support.stripe_standin import StripeStandIn

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
RUN_LABEL = "apranova.io/e2e-run"
WEBHOOK_SECRET = "whsec_payment_states_e2e"
PROCESSING_RETRY_MS = 31_000
"""Just past the ``Retry-After`` of the ``processing`` state (30 s)."""


@dataclass
class Stack:
    api: ApiProcess
    stripe: StripeStandIn
    smtp: SmtpSink
    database_url: str
    kubeconfig: str
    selector: str
    screenshots: Path

    def deliver(self, event_type: str, obj: dict[str, Any]) -> httpx.Response:
        body = json.dumps(
            {
                "id": f"evt_{secrets.token_hex(8)}",
                "object": "event",
                "type": event_type,
                "data": {"object": obj},
            }
        ).encode()
        return httpx.post(
            f"{self.api.url}/api/payments/stripe-webhook/",
            content=body,
            headers={"Stripe-Signature": sign_payload(WEBHOOK_SECRET, body)},
            timeout=60,
        )

    def checkout(self) -> httpx.Response:
        return httpx.post(
            f"{self.api.url}/api/payments/create-simple-checkout/",
            json={
                "track": "DP",
                "success_url": f"{self.api.url}/payment/success",
                "cancel_url": f"{self.api.url}/get-started",
            },
            timeout=60,
        )

    def db(self) -> Session:
        return Session(_engine(self.database_url))


_ENGINES: dict[str, Engine] = {}


def _engine(database_url: str) -> Engine:
    """One engine per database for the whole module (disposed by the ``stack`` fixture)."""
    if database_url not in _ENGINES:
        _ENGINES[database_url] = create_engine(database_url)
    return _ENGINES[database_url]


def _api_env(
    stack_db: str, kubeconfig: str, selector: str, stripe_url: str, smtp: SmtpSink, port: int
) -> dict[str, str]:
    base_url = f"http://127.0.0.1:{port}"
    return {
        "APRANOVA_ENV": "test",
        "KUBECONFIG": kubeconfig,
        "DATABASE_URL": stack_db,
        "ENROLLMENT_LABELS": selector,
        "ALLOWED_REDIRECT_ORIGINS": base_url,
        "PUBLIC_BASE_URL": base_url,
        "SMTP_URL": smtp.url,
        "STRIPE_SECRET_KEY": "sk_test_standin",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_url,
        "REPAIR_INTERVAL_SECONDS": "2",
        "WELCOME_INVITE_WAIT_SECONDS": "0",
    }


@pytest.fixture(scope="module")
def stack(crds_applied: str, postgres_server, test_output_dir: Path) -> Iterator[Stack]:
    suffix = secrets.token_hex(4)
    selector = f"{RUN_LABEL}=payment-states-{suffix}"
    database_url = postgres_server.create_database(f"payment_states_{suffix}")
    stripe = StripeStandIn().start()
    smtp = SmtpSink()
    smtp.start()
    port = free_port()
    api = ApiProcess(
        env=_api_env(database_url, crds_applied, selector, stripe.url, smtp, port),
        log_path=test_output_dir / f"payment-states-api-{suffix}.log",
        port=port,
    ).start()
    screenshots = test_output_dir / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    try:
        yield Stack(api, stripe, smtp, database_url, crds_applied, selector, screenshots)
    finally:
        api.stop()
        kubectl(crds_applied, "delete", "studentenrollments", "-l", selector, check=False)
        smtp.stop()
        stripe.stop()
        for engine in _ENGINES.values():
            engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    yield context.new_page()
    context.close()


def _delayed_payment_on_the_page(stack: Stack, page: Page, email: str) -> dict[str, Any]:
    """Checkout, a bank debit that is still settling, and the success page saying so."""
    created = stack.checkout()
    assert created.status_code == 200, created.text
    session_id = created.json()["sessionId"]
    session = stack.stripe.complete(session_id, email, "Ada Lovelace", paid=False)
    answer = stack.deliver("checkout.session.completed", session)
    assert (answer.status_code, answer.json()["outcome"]) == (200, "not_paid")
    page.clock.install()
    page.goto(f"{stack.api.url}/payment/success?session_id={session_id}")
    expect(page.get_by_role("heading", name="Your payment is being processed")).to_be_visible(
        timeout=30_000
    )
    expect(page.locator("#processing-text")).to_contain_text("a few business days")
    expect(page.locator("#processing-text")).to_contain_text("email you")
    expect(page.get_by_text(re.compile("choose a track", re.I))).to_have_count(0)
    return session


def test_delayed_payment_processing_then_enrolled(stack: Stack, page: Page) -> None:
    email = f"ada-{secrets.token_hex(3)}@example.com"
    session = _delayed_payment_on_the_page(stack, page, email)
    page.screenshot(path=str(stack.screenshots / "payment-processing.png"), full_page=True)
    succeeded = stack.stripe.settle(session["id"], succeeded=True)
    answer = stack.deliver("checkout.session.async_payment_succeeded", succeeded)
    assert (answer.status_code, answer.json()["outcome"]) == (200, "fulfilled")
    page.clock.fast_forward(PROCESSING_RETRY_MS)
    expect(page.get_by_role("heading", name="Welcome to ApraNova!")).to_be_visible(timeout=30_000)
    expect(page.locator("#welcome-email")).to_have_text(email)
    page.screenshot(path=str(stack.screenshots / "payment-processing-enrolled.png"))
    welcome = stack.smtp.wait_for(lambda m: m["To"] == email, timeout=60)
    assert "set-password" in body_of(welcome)


def test_delayed_payment_processing_then_failed(stack: Stack, page: Page) -> None:
    email = f"bob-{secrets.token_hex(3)}@example.com"
    session = _delayed_payment_on_the_page(stack, page, email)
    failed = stack.stripe.settle(session["id"], succeeded=False)
    answer = stack.deliver("checkout.session.async_payment_failed", failed)
    assert answer.status_code == 200
    page.clock.fast_forward(PROCESSING_RETRY_MS)
    expect(page.get_by_role("heading", name="Your payment did not go through")).to_be_visible(
        timeout=30_000
    )
    expect(page.locator("#problem-text")).to_contain_text("your bank did not complete the payment")
    expect(page.get_by_role("link", name="Try again")).to_have_attribute("href", "/get-started")
    page.screenshot(path=str(stack.screenshots / "payment-processing-failed.png"))
    notice = stack.smtp.wait_for(lambda m: m["To"] == email, timeout=60)
    assert "did not go through" in str(notice["Subject"])
    with stack.db() as db:
        assert db.scalars(select(User).where(User.email == email)).first() is None


def _paid(stack: Stack, email: str) -> str:
    created = stack.checkout()
    assert created.status_code == 200, created.text
    session = stack.stripe.complete(created.json()["sessionId"], email, "Grace Hopper", paid=True)
    answer = stack.deliver("checkout.session.completed", session)
    assert answer.status_code == 200, answer.text
    return session["id"]


def _enrollment_exists(stack: Stack, name: str) -> bool:
    found = kubectl(stack.kubeconfig, "get", "studentenrollment", name, check=False)
    return found.returncode == 0


def test_a_cluster_422_parks_one_fulfilment_while_repair_recreates_another(
    stack: Stack,
) -> None:
    # A student the cluster refuses for good: rows written before the email rule existed, as
    # the purchases migration carried them over (one enrollment named after the username).
    token = secrets.token_hex(3)
    legacy_session = f"cs_test_legacy_{token}"
    with stack.db() as db, db.begin():
        user = User(
            email="l" * 300 + "@example.com",
            name="Legacy Student",
            username=f"legacy-{token}",
            track="DP",
            payment_verified=True,
            privacy_accepted=True,
            enrollments=[Enrollment(track="DP", name=f"legacy-{token}")],
        )
        db.add(user)
        db.flush()
        db.add(
            Payment(
                user_id=user.id,
                checkout_session_id=legacy_session,
                amount=49900,
                currency="usd",
                track="DP",
                enrollment_id=user.enrollments[0].id,
            )
        )
    grace = f"grace-{token}@example.com"
    grace_session = _paid(stack, grace)
    with stack.db() as db:
        grace_name = db.scalars(select(Enrollment.name).join(User).where(User.email == grace)).one()
    assert _enrollment_exists(stack, grace_name)
    kubectl(stack.kubeconfig, "delete", "studentenrollment", grace_name)

    wait_for(lambda: _enrollment_exists(stack, grace_name), 120, "the repair pass re-creating it")

    with stack.db() as db:
        parked = db.get(ParkedFulfilment, legacy_session)
    assert parked is not None and parked.source == "cluster"
    assert "422" in parked.reason and "254" in parked.reason
    verify = httpx.get(
        f"{stack.api.url}/api/payments/verify-checkout-session/",
        params={"session_id": legacy_session},
    )
    assert (verify.status_code, verify.json()["status"]) == (409, "rejected")
    enrolled = httpx.get(
        f"{stack.api.url}/api/payments/verify-checkout-session/",
        params={"session_id": grace_session},
    )
    assert (enrolled.status_code, enrolled.json()["status"]) == (200, "enrolled")
    log = stack.api.log_path.read_text()
    assert re.search(rf"WARNING .*{legacy_session} parked \(cluster, permanent\)", log)


def test_a_permanent_stripe_400_at_checkout_leaves_no_open_order(stack: Stack) -> None:
    stack.stripe.inject(
        400,
        {"type": "invalid_request_error", "message": "Amount must be at least $0.50 usd"},
        "POST",
        "/v1/checkout/sessions",
    )
    with stack.db() as db:
        before = set(db.scalars(select(Order.id)))
    answer = stack.checkout()
    assert answer.status_code == 400
    assert "Amount must be at least" in answer.json()["detail"]
    with stack.db() as db:
        [order] = db.scalars(select(Order).where(Order.id.not_in(before))).all()
        assert order.status == "FAILED"
        assert "Amount must be at least" in (order.failure_reason or "")


def test_a_hanging_stripe_is_answered_within_the_deadline(
    stack: Stack, postgres_server, test_output_dir: Path
) -> None:
    hanging = HangingServer().start()
    database_url = postgres_server.create_database(f"payment_hang_{secrets.token_hex(4)}")
    port = free_port()
    env = _api_env(database_url, stack.kubeconfig, stack.selector, hanging.url, stack.smtp, port)
    api = ApiProcess(env=env, log_path=test_output_dir / "payment-hang-api.log", port=port)
    api.start()
    try:
        hung = Stack(api, stack.stripe, stack.smtp, database_url, stack.kubeconfig, "", Path())
        with hung.db() as db, db.begin():
            db.add(
                Order(
                    id="ord_hang",
                    track="DP",
                    amount=49900,
                    currency="usd",
                    checkout_session_id="cs_test_hang",
                )
            )
        started = time.monotonic()
        answer = hung.deliver("checkout.session.completed", {"id": "cs_test_hang"})
        waited = time.monotonic() - started
        # The default deadline (12 s), not three read timeouts of 10 s (or the SDK's 3 x 80 s).
        assert (answer.status_code, answer.json()["detail"]) == (503, "retry_later")
        assert waited < 3 * 10
        assert hanging.accepted >= 1
        verify = httpx.get(
            f"{api.url}/api/payments/verify-checkout-session/",
            params={"session_id": "cs_test_hang"},
            timeout=5,
        )
        assert (verify.status_code, verify.json()["status"]) == (202, "pending")
    finally:
        hanging.stop()
        api.stop()
