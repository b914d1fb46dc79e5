"""Payments end to end: two API processes on one PostgreSQL, the Stripe stand-in, the real
control plane and the operator.

Every enrollment this module creates carries ``apranova.io/test-run=<RUN>``; the operator it
starts only handles those, and they are deleted at the end.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from apranova_api.adapters.kube import KubeCluster
from apranova_api.app import create_app
from apranova_api.config import ApiSettings
from apranova_api.db import make_engine
from apranova_api.migrate import upgrade_to_head
from apranova_api.models import (
    AuditLog,
    Order,
    Payment,
    ProcessedEvent,
    StudentProgress,
    User,
)
from apranova_api.payments.repair import repair_once
from apranova_api.payments.signature import sign_payload
from apranova_api.payments.webhook import handle_delivery
from apranova_api.settings import Settings
from tests.support.api_process import ApiProcess, start_api
from tests.support.operator_process import (
    GROUP,
    PLURAL,
    VERSION,
    OperatorProcess,
    get_enrollment,
    start_operator,
    wait_for,
)
from tests.support.stripe_standin import StripeStandIn

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.postgres,
]

RUN = secrets.token_hex(4)
LABEL = f"apranova.io/test-run={RUN}"
SECRET = "whsec_e2e_" + secrets.token_hex(8)
ORIGIN = "http://shop.test"


@pytest.fixture(scope="module")
def stripe() -> Iterator[StripeStandIn]:
    standin = StripeStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def database_url(postgres_server: Any) -> str:
    return postgres_server.create_database(f"payments_e2e_{RUN}")


def _env(stripe: StripeStandIn, database_url: str, kubeconfig: str) -> dict[str, str]:
    return {
        "APRANOVA_ENV": "test",
        "DATABASE_URL": database_url,
        "STRIPE_SECRET_KEY": stripe.api_key,
        "STRIPE_API_BASE": stripe.url,
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "ALLOWED_REDIRECT_ORIGINS": ORIGIN,
        "ENROLLMENT_LABELS": LABEL,
        "KUBECONFIG": kubeconfig,
        "REPAIR_INTERVAL_SECONDS": "2",
    }


@pytest.fixture(scope="module")
def apis(
    stripe: StripeStandIn, database_url: str, crds_applied: str, test_output_dir: Path
) -> Iterator[list[ApiProcess]]:
    env = _env(stripe, database_url, crds_applied)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(start_api, env, test_output_dir / f"api-{RUN}-{index}.log")
            for index in range(2)
        ]
        processes = [future.result() for future in futures]
    yield processes
    for process in processes:
        process.stop()


@pytest.fixture(scope="module")
def objects(k8s_api_client: client.ApiClient) -> Iterator[client.CustomObjectsApi]:
    api = client.CustomObjectsApi(k8s_api_client)
    yield api
    listing = api.list_cluster_custom_object(GROUP, VERSION, PLURAL, label_selector=LABEL)
    for item in listing["items"]:
        api.delete_cluster_custom_object(GROUP, VERSION, PLURAL, item["metadata"]["name"])


@pytest.fixture(scope="module")
def operator(
    crds_applied: str,
    postgres_server: Any,
    test_output_dir: Path,
    objects: Any,
    apis: list[ApiProcess],
) -> Iterator[OperatorProcess]:
    process = start_operator(
        crds_applied,
        {
            "ENROLLMENT_SELECTOR": LABEL,
            "STUDENT_DB_ADMIN_URL": postgres_server.admin_url,
            "RETRY_BASE_SECONDS": "1",
        },
        test_output_dir / f"operator-payments-{RUN}.log",
    )
    yield process
    # The APIs' repair loop would rightly re-create the enrollments of paying users: stop them
    # first, then let the operator run its finalizers before it stops.
    for api in apis:
        api.stop()
    listing = objects.list_cluster_custom_object(GROUP, VERSION, PLURAL, label_selector=LABEL)
    names = [item["metadata"]["name"] for item in listing["items"]]
    for name in names:
        try:
            objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, name)
        except ApiException as error:
            if error.status != 404:
                raise
    try:
        wait_for(
            lambda: all(get_enrollment(objects, name) is None for name in names),
            300,
            f"enrollments {names} to be deleted",
            interval=2,
        )
    except TimeoutError:
        # A loaded shared cluster can take longer to finish deleting namespaces (the operator has
        # already asked for it): release what is left rather than leak it.
        for name in names:
            if get_enrollment(objects, name) is not None:
                patch = {"metadata": {"finalizers": None}}
                objects.patch_cluster_custom_object(GROUP, VERSION, PLURAL, name, patch)
    process.stop()


def _count(database_url: str, model: Any, *where: Any) -> int:
    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)
    finally:
        engine.dispose()


def _paid_checkout(api: ApiProcess, stripe: StripeStandIn, email: str, track: str = "DP") -> dict:
    response = httpx.post(
        f"{api.url}/api/payments/create-simple-checkout/",
        json={
            "track": track,
            "success_url": f"{ORIGIN}/payment/success",
            "cancel_url": f"{ORIGIN}/get-started",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return stripe.complete(response.json()["sessionId"], email, "Pay Test")


def _deliver(url: str, event: dict[str, Any], secret: str = SECRET) -> httpx.Response:
    body = json.dumps(event).encode()
    return httpx.post(
        f"{url}/api/payments/stripe-webhook/",
        content=body,
        headers={
            "Stripe-Signature": sign_payload(secret, body),
            "Content-Type": "application/json",
        },
        timeout=60,
    )


def _completed(session_id: str, event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or "evt_" + secrets.token_hex(8),
        "type": "checkout.session.completed",
        "data": {"object": {"id": session_id}},
    }


def test_twenty_concurrent_deliveries_across_two_processes(
    apis: list[ApiProcess],
    stripe: StripeStandIn,
    database_url: str,
    objects: client.CustomObjectsApi,
) -> None:
    email = f"t{RUN}-race@example.com"
    session = _paid_checkout(apis[0], stripe, email)
    same = _completed(session["id"], "evt_race_" + RUN)
    deliveries = [(apis[i % 2].url, same) for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda d: _deliver(*d), deliveries))
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
    assert _count(database_url, User, User.email == email) == 1
    assert _count(database_url, Payment, Payment.checkout_session_id == session["id"]) == 1
    assert _count(database_url, ProcessedEvent, ProcessedEvent.id == same["id"]) == 1
    user_id = select(User.id).where(User.email == email).scalar_subquery()
    assert _count(database_url, StudentProgress, StudentProgress.user_id == user_id) == 13
    username = f"t{RUN}-race-dp"
    enrollment = get_enrollment(objects, username)
    assert enrollment is not None
    assert enrollment["metadata"]["labels"]["apranova.io/test-run"] == RUN
    assert enrollment["spec"]["payment"]["checkoutSessionId"] == session["id"]
    listing = objects.list_cluster_custom_object(GROUP, VERSION, PLURAL, label_selector=LABEL)
    assert [i["metadata"]["name"] for i in listing["items"]].count(username) == 1


def test_refused_requests_write_nothing(
    apis: list[ApiProcess], stripe: StripeStandIn, database_url: str
) -> None:
    api = apis[1]
    users_before = _count(database_url, User)
    orders_before = _count(database_url, Order)
    session = _paid_checkout(api, stripe, f"t{RUN}-refused@example.com")
    orders_before += 1
    event = _completed(session["id"])
    assert _deliver(api.url, event, secret="whsec_wrong").status_code == 400
    body = json.dumps(event).encode()
    stale = sign_payload(SECRET, body, 1_600_000_000)
    url = f"{api.url}/api/payments/webhook/"
    assert httpx.post(url, content=body, headers={"Stripe-Signature": stale}).status_code == 400
    junk = b"{definitely not json"
    signed = {"Stripe-Signature": sign_payload(SECRET, junk)}
    assert httpx.post(url, content=junk, headers=signed).status_code == 400
    huge = b"{" + b" " * (512 * 1024) + b"}"
    signed = {"Stripe-Signature": sign_payload(SECRET, huge)}
    assert httpx.post(url, content=huge, headers=signed).status_code == 413
    checkout = f"{api.url}/api/payments/create-simple-checkout/"
    good = {"success_url": f"{ORIGIN}/ok", "cancel_url": f"{ORIGIN}/back"}
    assert httpx.post(checkout, json={**good, "track": "NOPE"}).status_code == 400
    foreign = {**good, "track": "DP", "success_url": "https://evil.example/ok"}
    assert httpx.post(checkout, json=foreign).status_code == 400
    assert _count(database_url, User) == users_before
    assert _count(database_url, Order) == orders_before
    verify = f"{api.url}/api/payments/verify-checkout-session/"
    assert httpx.get(verify).status_code == 400
    assert httpx.get(verify, params={"session_id": "cs_test_unknown"}).status_code == 404


def test_full_path_to_ready_then_refund_suspends(
    apis: list[ApiProcess],
    stripe: StripeStandIn,
    database_url: str,
    objects: client.CustomObjectsApi,
    operator: OperatorProcess,
) -> None:
    email = f"t{RUN}-ada@example.com"
    username = f"t{RUN}-ada"
    name = f"{username}-dp"
    session = _paid_checkout(apis[0], stripe, email)
    verify = f"{apis[1].url}/api/payments/verify-checkout-session/"
    assert _deliver(apis[1].url, _completed(session["id"])).status_code == 200
    user_where = User.email == email
    assert _count(database_url, User, user_where) == 1
    engine = make_engine(database_url)
    with Session(engine) as db:
        user = db.scalars(select(User).where(user_where)).one()
        unlocked = db.scalar(
            select(func.count())
            .select_from(StudentProgress)
            .where(StudentProgress.user_id == user.id, StudentProgress.status == "unlocked")
        )
        audit = db.scalars(select(AuditLog.action).where(AuditLog.user_id == user.id)).all()
    engine.dispose()
    assert (user.username, user.track, user.enrollment_status) == (username, "DP", "ENROLLED")
    assert unlocked == 4 and "user_created" in audit and "payment_succeeded" in audit

    def ready() -> dict[str, Any] | None:
        answer = httpx.get(verify, params={"session_id": session["id"]}, timeout=30)
        assert answer.status_code in (200, 202), answer.text
        body = answer.json()
        return body if answer.status_code == 200 and body["phase"] == "Ready" else None

    body = wait_for(ready, 600, "the enrollment to be Ready", interval=3)
    assert (body["email"], body["track"], body["name"]) == (email, "DP", "Pay Test")

    stripe.refund(session["payment_intent"])
    refund = {
        "id": "evt_refund_" + RUN,
        "type": "charge.refunded",
        "data": {"object": stripe.charge_of(session["payment_intent"])},
    }
    assert _deliver(apis[0].url, refund).status_code == 200
    spec = (get_enrollment(objects, name) or {})["spec"]
    assert (spec["suspended"], spec["suspensionReason"]) == (True, "refunded")
    wait_for(
        lambda: (
            ((get_enrollment(objects, name) or {}).get("status") or {}).get("phase") == "Suspended"
        ),
        300,
        "the enrollment to be Suspended",
    )


def test_cluster_outage_is_repaired(
    crds_applied: str,
    stripe: StripeStandIn,
    tmp_path: Path,
    objects: client.CustomObjectsApi,
) -> None:
    """The webhook answers 503 while the cluster is unreachable; the repair pass fixes it."""
    broken = yaml.safe_load(Path(crds_applied).read_text())
    for entry in broken["clusters"]:
        entry["cluster"]["server"] = "https://127.0.0.1:1"
    broken_path = tmp_path / "broken-kubeconfig"
    broken_path.write_text(yaml.safe_dump(broken))
    shutil.copy(crds_applied, tmp_path / "kubeconfig")
    database_url = f"sqlite:///{tmp_path / 'api.db'}"
    settings = Settings(
        **{**_env(stripe, database_url, str(broken_path)), "REPAIR_INTERVAL_SECONDS": "3600"}
    )
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    engine.dispose()
    app = create_app(
        ApiSettings(payments=settings), kube=KubeCluster(str(broken_path)), repair=False
    )
    services = app.state.services
    session = stripe.create_session(
        {
            "mode": "payment",
            "line_items": [
                {"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 59900}}
            ],
            "metadata": {"track": "FSD", "anonymous_checkout": "true"},
        }
    )
    email = f"t{RUN}-outage@example.com"
    stripe.complete(session["id"], email, "Out Age")
    payload = json.dumps(_completed(session["id"])).encode()
    answer = handle_delivery(services, payload, sign_payload(SECRET, payload))
    assert answer.status == 503
    assert _count(database_url, User, User.email == email) == 1
    assert get_enrollment(objects, f"t{RUN}-outage-fsd") is None
    services.kube = KubeCluster(str(tmp_path / "kubeconfig"))
    assert repair_once(services) >= 1
    enrollment = get_enrollment(objects, f"t{RUN}-outage-fsd")
    assert enrollment is not None and enrollment["spec"]["track"] == "FSD"
    assert enrollment["metadata"]["labels"]["apranova.io/test-run"] == RUN
    services.engine.dispose()
