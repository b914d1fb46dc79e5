"""Purchases end to end: the API process on PostgreSQL, the Stripe stand-in, a real SMTP sink,
the real control plane and the operator.

Shows each bullet of "purchases grant enrollments": two tracks with one email, a duplicate
refunded with an email, refund of a duplicate keeps the student enrolled, a late older refund
event, the dispute lifecycle, re-purchase after refund, a foreign namespace, ``apranova admin``,
and the CRD's naming rule. Every enrollment carries ``apranova.io/test-run=<RUN>``; the operator
started here only handles those, and they are deleted at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.db import make_engine
from apranova_api.models import Enrollment, Payment, User
from tests.e2e.test_payments_cluster import _completed, _deliver, _env, _paid_checkout
from tests.support.api_process import ApiProcess, start_api
from tests.support.operator_process import (
    GROUP,
    PLURAL,
    VERSION,
    OperatorProcess,
    delete_enrollments,
    enrollment_body,
    get_enrollment,
    start_operator,
    wait_for,
)
from tests.support.smtp import SmtpSink, body_of
from tests.support.stripe_standin import StripeStandIn

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.postgres,
]

RUN = "p" + secrets.token_hex(4)
LABEL = f"apranova.io/test-run={RUN}"
READY_TIMEOUT = 600


@pytest.fixture(scope="module")
def stripe() -> Iterator[StripeStandIn]:
    standin = StripeStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def database_url(postgres_server: Any) -> str:
    return postgres_server.create_database(f"purchases_e2e_{RUN}")


@pytest.fixture(scope="module")
def env(stripe: StripeStandIn, database_url: str, crds_applied: str, sink: SmtpSink) -> dict:
    return {
        **_env(stripe, database_url, crds_applied),
        "ENROLLMENT_LABELS": LABEL,
        "SMTP_URL": sink.url,
        "OUTBOX_POLL_SECONDS": "1",
        "WELCOME_INVITE_WAIT_SECONDS": "0",
    }


@pytest.fixture(scope="module")
def objects(k8s_api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(k8s_api_client)


@pytest.fixture(scope="module")
def api(env: dict, test_output_dir: Path) -> Iterator[ApiProcess]:
    process = start_api(env, test_output_dir / f"api-{RUN}.log")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def operator(
    crds_applied: str,
    postgres_server: Any,
    test_output_dir: Path,
    k8s_api_client: client.ApiClient,
    api: ApiProcess,
) -> Iterator[OperatorProcess]:
    process = start_operator(
        crds_applied,
        {
            "ENROLLMENT_SELECTOR": LABEL,
            "STUDENT_DB_ADMIN_URL": postgres_server.admin_url,
            "RETRY_BASE_SECONDS": "1",
        },
        test_output_dir / f"operator-purchases-{RUN}.log",
    )
    yield process
    api.stop()  # its repair loop would rightly re-create paying students' enrollments
    try:
        delete_enrollments(k8s_api_client, LABEL)
    finally:
        process.stop()
    core = client.CoreV1Api(k8s_api_client)
    for namespace in core.list_namespace(label_selector=f"purchases-test={RUN}").items:
        core.delete_namespace(namespace.metadata.name)


def _buy(api: ApiProcess, stripe: StripeStandIn, email: str, track: str) -> dict[str, Any]:
    """Pay; the webhook answers 200, or 503 when the enrollment could not be created yet (the
    verify endpoint and the repair loop finish the job)."""
    session = _paid_checkout(api, stripe, email, track)
    answer = _deliver(api.url, _completed(session["id"]))
    assert answer.status_code in (200, 503), answer.text
    return session


def _verify(api: ApiProcess, session_id: str) -> httpx.Response:
    return httpx.get(
        f"{api.url}/api/payments/verify-checkout-session/",
        params={"session_id": session_id},
        timeout=60,
    )


def _wait_ready(api: ApiProcess, session_id: str) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        answer = _verify(api, session_id)
        assert answer.status_code in (200, 202), answer.text
        body = answer.json()
        return body if answer.status_code == 200 and body["phase"] == "Ready" else None

    result: dict[str, Any] = wait_for(ready, READY_TIMEOUT, "the enrollment to be Ready", 3)
    return result


def _phase(objects: client.CustomObjectsApi, name: str) -> str | None:
    return ((get_enrollment(objects, name) or {}).get("status") or {}).get("phase")


def _wait_phase(objects: client.CustomObjectsApi, name: str, phase: str) -> None:
    wait_for(lambda: _phase(objects, name) == phase, 300, f"{name} to be {phase}", 2)


def _event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": "evt_" + secrets.token_hex(8), "type": kind, "data": {"object": obj}}


def _rows(database_url: str, model: Any, *where: Any) -> list[Any]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            return list(db.scalars(select(model).where(*where)))
    finally:
        engine.dispose()


def test_two_tracks_with_one_email_give_two_ready_environments(
    api: ApiProcess,
    operator: OperatorProcess,
    stripe: StripeStandIn,
    database_url: str,
    objects: client.CustomObjectsApi,
    k8s_api_client: client.ApiClient,
) -> None:
    email = f"{RUN}-two@example.com"
    dp = _buy(api, stripe, email, "DP")
    fsd = _buy(api, stripe, email.upper(), "FSD")
    assert (_wait_ready(api, dp["id"])["enrollment"], _wait_ready(api, fsd["id"])["track"]) == (
        f"{RUN}-two-dp",
        "FSD",
    )
    assert len(_rows(database_url, User, User.email == email)) == 1
    core = client.CoreV1Api(k8s_api_client)
    for name in (f"{RUN}-two-dp", f"{RUN}-two-fsd"):
        assert (
            core.read_namespace(f"student-{name}").metadata.labels["apranova.io/enrollment"] == name
        )


def test_a_duplicate_purchase_is_refunded_with_an_email(
    api: ApiProcess,
    operator: OperatorProcess,
    stripe: StripeStandIn,
    sink: SmtpSink,
    database_url: str,
    objects: client.CustomObjectsApi,
) -> None:
    email = f"{RUN}-dup@example.com"
    first = _buy(api, stripe, email, "DP")
    second = _buy(api, stripe, email, "DP")

    def answered() -> dict[str, Any] | None:
        answer = _verify(api, second["id"])
        assert answer.status_code in (200, 202), answer.text
        return answer.json() if answer.status_code == 200 else None

    body = wait_for(answered, READY_TIMEOUT, "the duplicate's verification", 3)
    assert body["status"] == "refunded_duplicate" and body["refundId"].startswith("re_test_")
    refund = stripe.refunds[body["refundId"]]
    assert (refund["payment_intent"], refund["reason"]) == (second["payment_intent"], "duplicate")
    assert stripe.charge_of(first["payment_intent"])["refunded"] is False
    message = sink.wait_for(lambda m: email in str(m["To"]) and "Refunded" in str(m["Subject"]))
    assert "refunded in full" in body_of(message)
    enrollments = _rows(database_url, Enrollment, Enrollment.name.like(f"{RUN}-dup%"))
    assert [e.name for e in enrollments] == [f"{RUN}-dup-dp"]
    # Stripe reports the duplicate's refund: the student stays enrolled.
    charge = stripe.charge_of(second["payment_intent"])
    assert _deliver(api.url, _event("charge.refunded", charge)).json()["outcome"] == "refunded"
    assert get_enrollment(objects, f"{RUN}-dup-dp")["spec"]["suspended"] is False
    _wait_ready(api, first["id"])


def test_refunds_disputes_and_repurchase_act_on_the_purchase(
    api: ApiProcess,
    operator: OperatorProcess,
    stripe: StripeStandIn,
    database_url: str,
    objects: client.CustomObjectsApi,
) -> None:
    email = f"{RUN}-pay@example.com"
    name = f"{RUN}-pay-fsd"
    session = _buy(api, stripe, email, "FSD")
    intent = session["payment_intent"]
    _wait_ready(api, session["id"])

    inquiry = stripe.open_dispute(intent, status="warning_needs_response")
    assert _deliver(api.url, _event("charge.dispute.created", inquiry)).status_code == 200
    assert get_enrollment(objects, name)["spec"]["suspended"] is False
    stripe.set_dispute_status(inquiry["id"], "warning_closed")
    dispute = stripe.open_dispute(intent, with_payment_intent=False)
    assert _deliver(api.url, _event("charge.dispute.created", dispute)).json()["outcome"] == (
        "disputed"
    )
    _wait_phase(objects, name, "Suspended")
    won = stripe.set_dispute_status(dispute["id"], "won")
    assert _deliver(api.url, _event("charge.dispute.closed", won)).status_code == 200
    _wait_phase(objects, name, "Ready")

    stripe.refund(intent, 100)
    older = _event("charge.refunded", stripe.charge_of(intent))
    stripe.refund(intent)
    newer = _event("charge.refunded", stripe.charge_of(intent))
    assert _deliver(api.url, newer).json()["outcome"] == "refunded"
    assert _deliver(api.url, older).json()["outcome"] == "refunded"
    (payment,) = _rows(database_url, Payment, Payment.payment_intent_id == intent)
    assert payment.status == "REFUNDED"
    _wait_phase(objects, name, "Suspended")

    again = _buy(api, stripe, email, "FSD")
    body = _wait_ready(api, again["id"])
    assert (body["status"], body["enrollment"]) == ("enrolled", name)
    assert get_enrollment(objects, name)["spec"]["suspended"] is False


def test_a_foreign_namespace_does_not_stop_a_paying_student(
    api: ApiProcess,
    operator: OperatorProcess,
    stripe: StripeStandIn,
    k8s_api_client: client.ApiClient,
) -> None:
    core = client.CoreV1Api(k8s_api_client)
    taken = f"student-{RUN}-x-fsd"
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=taken, labels={"purchases-test": RUN}))
    )
    session = _buy(api, stripe, f"{RUN}-x@example.com", "FSD")
    body = _wait_ready(api, session["id"])
    assert body["enrollment"].startswith(f"{RUN}-x-fsd-")
    labels = core.read_namespace(taken).metadata.labels
    assert labels["purchases-test"] == RUN and "apranova.io/enrollment" not in labels


def _admin(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apranova.cli", "admin", *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_admin_suspends_and_resumes_one_enrollment(
    api: ApiProcess,
    operator: OperatorProcess,
    stripe: StripeStandIn,
    env: dict[str, str],
    objects: client.CustomObjectsApi,
) -> None:
    email = f"{RUN}-adm@example.com"
    dp = _buy(api, stripe, email, "DP")
    fsd = _buy(api, stripe, email, "FSD")
    _wait_ready(api, dp["id"])
    _wait_ready(api, fsd["id"])
    shown = _admin(env, "--json", "show", email)
    assert shown.returncode == 0, shown.stderr
    assert [e["track"] for e in json.loads(shown.stdout)["enrollments"]] == ["DP", "FSD"]
    done = _admin(env, "suspend", email, "FSD", "--reason", "chargeback threat")
    assert done.returncode == 0, done.stdout + done.stderr
    _wait_phase(objects, f"{RUN}-adm-fsd", "Suspended")
    assert _phase(objects, f"{RUN}-adm-dp") == "Ready"
    assert _admin(env, "resume", email, "FSD", "--reason", "resolved").returncode == 0
    _wait_phase(objects, f"{RUN}-adm-fsd", "Ready")
    audit = json.loads(_admin(env, "--json", "audit", email).stdout)
    assert [r["action"] for r in audit if r["action"].startswith("admin_")] == [
        "admin_suspend",
        "admin_resume",
    ]
    for argv in (["show", "nobody@example.com"], ["suspend", email, "ML", "--reason", "x"]):
        bad = _admin(env, *argv)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_the_crd_accepts_old_and_new_names_only(objects: client.CustomObjectsApi) -> None:
    good = [f"{RUN}-crd", f"{RUN}-crd-dp"]
    for name in good:
        body = enrollment_body(f"{RUN}-crd", "DP", {"apranova.io/test-run": RUN + "-idle"})
        body["metadata"]["name"] = name
        objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)
    try:
        for bad_name in (f"{RUN}-other", f"{RUN}-crd-" + "x" * 40):
            body = enrollment_body(f"{RUN}-crd", "DP")
            body["metadata"]["name"] = bad_name
            with pytest.raises(ApiException) as raised:
                objects.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)
            assert raised.value.status == 422
            assert "spec.student.username" in str(raised.value.body)
    finally:
        for name in good:
            objects.delete_cluster_custom_object(GROUP, VERSION, PLURAL, name)
