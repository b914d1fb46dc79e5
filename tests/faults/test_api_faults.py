"""Payments under faults: two API processes on one PostgreSQL, the Stripe stand-in, a real SMTP
server, and the cluster reached through a link the test can cut.

- concurrent deliveries: each of N sessions delivered M times at once, spread over both API
  processes (short 5 x 5, full 20 x 20): N users, N payments, N enrollments.
- SMTP down during purchases (short 10, full 50): every welcome email arrives once it returns,
  none twice.
- cluster unreachable during webhooks (short 10, full 50): the webhook answers 503 (so Stripe
  delivers again), and the API's repair loop creates every enrollment once the cluster is back.

No operator runs: what is counted is the API's side (rows, emails, ``StudentEnrollment``s).
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from kubernetes import client
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from apranova_api.db import make_engine
from apranova_api.models import Payment, User
from tests.e2e import test_payments_cluster as paying
from tests.faults import fleet
from tests.faults.harness import Counts, CuttableLink, Stopwatch, report, settle, sized
from tests.support.api_process import ApiProcess, start_api
from tests.support.smtp import SmtpSink
from tests.support.stripe_standin import StripeStandIn

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.postgres,
    pytest.mark.faults,
    pytest.mark.timeout(1800),
]

SECRET, ORIGIN = paying.SECRET, paying.ORIGIN


@dataclass
class Stack:
    apis: list[ApiProcess]
    stripe: StripeStandIn
    sink: SmtpSink
    link: CuttableLink
    database_url: str
    selector: str
    run_id: str


@pytest.fixture(scope="module")
def stack(
    crds_applied: str,
    postgres_server: Any,
    k8s_api_client: client.ApiClient,
    tmp_path_factory: Any,
    test_output_dir: Path,
) -> Iterator[Stack]:
    run_id = "w" + secrets.token_hex(3)
    selector = f"apranova.io/test-run=faults-{run_id}"
    config = yaml.safe_load(Path(crds_applied).read_text())
    server = urlsplit(config["clusters"][0]["cluster"]["server"])
    link = CuttableLink(server.hostname or "127.0.0.1", server.port or 443)
    for entry in config["clusters"]:
        entry["cluster"]["server"] = f"https://127.0.0.1:{link.port}"
    linked = tmp_path_factory.mktemp("faults") / "kubeconfig"
    linked.write_text(yaml.safe_dump(config))
    stripe = StripeStandIn().start()
    sink = SmtpSink()
    sink.start()
    database_url = postgres_server.create_database(f"faults_api_{run_id}")
    env = {
        **paying._env(stripe, database_url, str(linked)),
        "ENROLLMENT_LABELS": selector,
        "SMTP_URL": sink.url,
        "OUTBOX_POLL_SECONDS": "1",
        "OUTBOX_MAX_BACKOFF_SECONDS": "4",
        "WELCOME_INVITE_WAIT_SECONDS": "0",
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        apis = list(
            pool.map(
                lambda index: start_api(env, test_output_dir / f"api-faults-{run_id}-{index}.log"),
                range(2),
            )
        )
    objects = client.CustomObjectsApi(k8s_api_client)
    try:
        yield Stack(apis, stripe, sink, link, database_url, selector, run_id)
    finally:
        for api in apis:
            api.stop()
        fleet.delete_all(objects, fleet.enrollments(objects, selector))
        link.close()
        sink.stop()
        stripe.stop()


def _checkout(stack: Stack, index: int) -> str:
    answer = httpx.post(
        f"{stack.apis[index % 2].url}/api/payments/create-simple-checkout/",
        json={
            "track": "FSD",
            "success_url": f"{ORIGIN}/payment/success",
            "cancel_url": f"{ORIGIN}/get-started",
        },
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["sessionId"])


def _deliver(url: str, session_id: str, event_id: str) -> int:
    return paying._deliver(url, paying._completed(session_id, event_id), SECRET).status_code


def _deliver_each_once(stack: Stack, paid: list[tuple[str, str]]) -> list[int]:
    """Deliver every purchase's completion once, alternating API processes; the statuses."""
    return [
        _deliver(stack.apis[index % 2].url, session_id, f"evt_{session_id}")
        for index, (session_id, _) in enumerate(paid)
    ]


def _purchases(stack: Stack, tag: str, count: int) -> list[tuple[str, str]]:
    """``count`` checkouts created through the API and paid; ``(session id, email)`` each."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        sessions = list(pool.map(lambda index: _checkout(stack, index), range(count)))
    paid = []
    for index, session_id in enumerate(sessions):
        email = f"{stack.run_id}-{tag}-{index}@example.com"
        stack.stripe.complete(session_id, email, f"Fault {tag} {index}")
        paid.append((session_id, email))
    return paid


def _rows(stack: Stack, model: Any, column: Any, values: list[str]) -> Counter[str]:
    engine = make_engine(stack.database_url)
    try:
        with Session(engine) as db:
            found = db.execute(
                select(column, func.count())
                .select_from(model)
                .where(column.in_(values))
                .group_by(column)
            ).all()
    finally:
        engine.dispose()
    return Counter({value: int(count) for value, count in found})


def _enrollment_count(objects: client.CustomObjectsApi, stack: Stack) -> Counter[str]:
    return Counter(
        item["spec"]["student"]["email"]
        for item in fleet.enrollments(objects, stack.selector).values()
    )


def _missing_and_extra(expected: list[str], found: Counter[str]) -> tuple[int, int]:
    missing = sum(1 for value in expected if found[value] == 0)
    extra = sum(max(0, found[value] - 1) for value in expected)
    return missing, extra


def test_concurrent_deliveries_across_two_api_processes(
    stack: Stack, objects: client.CustomObjectsApi, test_output_dir: Path
) -> None:
    sessions, copies = sized(5, 20), sized(5, 20)
    paid = _purchases(stack, "race", sessions)
    deliveries = [
        (stack.apis[(index + copy) % 2].url, session_id, f"evt_{session_id}")
        for index, (session_id, _) in enumerate(paid)
        for copy in range(copies)
    ]
    clock = Stopwatch()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda delivery: _deliver(*delivery), deliveries))
    counts = Counts(
        "concurrent-deliveries", faults=len(deliveries) - sessions, enrollments=sessions
    )
    counts.converge_seconds = clock.seconds()
    counts.server_errors = sum(1 for status in answers if status >= 500)
    emails = [email for _, email in paid]
    session_ids = [session_id for session_id, _ in paid]
    users = _rows(stack, User, User.email, emails)
    payments = _rows(stack, Payment, Payment.checkout_session_id, session_ids)
    enrollments = _enrollment_count(objects, stack)
    for found, keys in ((users, emails), (payments, session_ids), (enrollments, emails)):
        missing, extra = _missing_and_extra(keys, found)
        counts.lost += missing
        counts.duplicated += extra
    counts.notes.update(
        users=sum(users.values()),
        payments=sum(payments.values()),
        created=sum(enrollments[e] for e in emails),
    )
    report(counts, test_output_dir)
    assert (counts.lost, counts.duplicated, counts.server_errors) == (0, 0, 0)


def test_smtp_down_during_purchases(stack: Stack, test_output_dir: Path) -> None:
    purchases = sized(10, 50)
    paid = _purchases(stack, "mail", purchases)
    emails = [email for _, email in paid]
    stack.sink.stop()
    try:
        answers = _deliver_each_once(stack, paid)
        time.sleep(5)
    finally:
        stack.sink.start()
    clock = Stopwatch()

    def received() -> Counter[str]:
        recipients = [
            address.addr_spec
            for message in stack.sink.messages
            for address in message["To"].addresses
        ]
        return Counter(recipient for recipient in recipients if recipient in emails)

    settle(lambda: all(received()[email] for email in emails), sized(120, 300))
    counts = Counts("smtp-down", faults=1, enrollments=purchases)
    counts.converge_seconds = clock.seconds()
    time.sleep(5)
    counts.lost, counts.duplicated = _missing_and_extra(emails, received())
    counts.server_errors = sum(1 for status in answers if status >= 500)
    report(counts, test_output_dir)
    assert (counts.lost, counts.duplicated, counts.server_errors) == (0, 0, 0)


def test_cluster_unreachable_during_webhooks(
    stack: Stack, objects: client.CustomObjectsApi, test_output_dir: Path
) -> None:
    purchases = sized(10, 50)
    paid = _purchases(stack, "cut", purchases)
    emails = [email for _, email in paid]
    stack.link.cut()
    try:
        answers = _deliver_each_once(stack, paid)
        users_during = sum(_rows(stack, User, User.email, emails).values())
    finally:
        stack.link.mend()
    clock = Stopwatch()
    settle(lambda: all(_enrollment_count(objects, stack)[e] for e in emails), sized(120, 300))
    counts = Counts("cluster-unreachable", faults=1, enrollments=purchases)
    counts.converge_seconds = clock.seconds()
    counts.lost, counts.duplicated = _missing_and_extra(emails, _enrollment_count(objects, stack))
    counts.server_errors = sum(1 for status in answers if status >= 500)
    counts.notes.update(
        answered_503=sum(1 for status in answers if status == 503), users_during_outage=users_during
    )
    report(counts, test_output_dir)
    assert (counts.lost, counts.duplicated) == (0, 0)
    assert users_during == purchases
    assert all(status in (200, 503) for status in answers), answers
