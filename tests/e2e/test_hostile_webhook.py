"""Hostile but validly signed webhook deliveries never get a 5xx and never leave half a purchase.

Hypothesis builds events of every type the webhook handles (and one it ignores) around real paid
sessions of the Stripe stand-in, then removes fields, nulls them, gives them the wrong type, a
huge value, or unicode (NUL included); each body is signed with the endpoint's secret and sent to
a running API on PostgreSQL. Afterwards every user has its payment, progress and welcome email.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client
from sqlalchemy import create_engine, text

from apranova_api.payments.signature import sign_payload
from tests.e2e import test_payments_cluster as paying
from tests.faults import fleet
from tests.support.api_process import ApiProcess, start_api
from tests.support.stripe_standin import StripeStandIn

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.timeout(900)]

RUN = "h" + secrets.token_hex(3)
SELECTOR = f"apranova.io/test-run=hostile-{RUN}"
EVENT_TYPES = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "charge.refunded",
    "charge.dispute.created",
    "customer.created",
)
PATHS = (
    ("id",),
    ("type",),
    ("data",),
    ("data", "object"),
    ("data", "object", "id"),
    ("data", "object", "payment_intent"),
    ("data", "object", "amount"),
    ("data", "object", "amount_refunded"),
    ("data", "object", "refunded"),
    ("data", "object", "reason"),
    ("data", "object", "client_reference_id"),
    ("data", "object", "metadata"),
)
MISSING = object()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
HOSTILE = st.one_of(
    st.just(MISSING),
    st.none(),
    JSON_VALUES,
    st.text(max_size=40),
    st.builds(
        lambda char, count: char * count,
        st.sampled_from(["a", "é", "😀", "\u0000", "%", "/", "'"]),
        st.integers(200, 100_000),
    ),
    st.integers(min_value=-(2**80), max_value=2**80),
)


@dataclass
class Target:
    api: ApiProcess
    database_url: str
    sessions: list[dict[str, Any]]


@pytest.fixture(scope="module")
def target(
    crds_applied: str,
    postgres_server: Any,
    k8s_api_client: client.ApiClient,
    test_output_dir: Path,
) -> Iterator[Target]:
    stripe = StripeStandIn().start()
    database_url = postgres_server.create_database(f"hostile_{RUN}")
    env = {**paying._env(stripe, database_url, crds_applied), "ENROLLMENT_LABELS": SELECTOR}
    api = start_api(env, test_output_dir / f"api-hostile-{RUN}.log")
    sessions = []
    for index in range(3):
        session = stripe.create_session(
            {
                "mode": "payment",
                "line_items": [
                    {"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 59900}}
                ],
                "metadata": {"track": "FSD", "anonymous_checkout": "true"},
            }
        )
        sessions.append(stripe.complete(session["id"], f"{RUN}-{index}@example.com", "Hostile"))
    objects = client.CustomObjectsApi(k8s_api_client)
    try:
        yield Target(api, database_url, sessions)
    finally:
        api.stop()
        stripe.stop()
        fleet.delete_all(objects, fleet.enrollments(objects, SELECTOR))


def _base(event_type: str, session: dict[str, Any]) -> dict[str, Any]:
    charge = event_type.startswith("charge.")
    obj: dict[str, Any] = (
        {"id": "ch_1", "payment_intent": session["payment_intent"], "amount": 59900}
        if charge
        else {"id": session["id"], "client_reference_id": None, "metadata": {"track": "FSD"}}
    )
    return {"id": "evt_" + secrets.token_hex(8), "type": event_type, "data": {"object": obj}}


def _mutate(event: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    holder: Any = event
    for key in path[:-1]:
        if not isinstance(holder, dict) or not isinstance(holder.get(key), dict):
            return
        holder = holder[key]
    if value is MISSING:
        holder.pop(path[-1], None)
    else:
        holder[path[-1]] = value


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    event_type=st.sampled_from(EVENT_TYPES),
    which=st.integers(0, 2),
    changes=st.lists(st.tuples(st.sampled_from(PATHS), HOSTILE), min_size=1, max_size=3),
)
def test_signed_hostile_events_get_2xx_or_4xx(
    target: Target, event_type: str, which: int, changes: list[tuple[tuple[str, ...], Any]]
) -> None:
    event = _base(event_type, target.sessions[which])
    for path, value in changes:
        _mutate(event, path, value)
    body = json.dumps(event).encode()
    answer = httpx.post(
        f"{target.api.url}/api/payments/stripe-webhook/",
        content=body,
        headers={
            "Stripe-Signature": sign_payload(paying.SECRET, body),
            "Content-Type": "application/json",
        },
        timeout=60,
    )
    assert answer.status_code < 500, (answer.status_code, answer.text, event)


def test_nothing_is_half_written(target: Target) -> None:
    """Runs after the property test (same module): every user is a whole purchase."""
    engine = create_engine(target.database_url)
    try:
        with engine.connect() as db:
            broken = {
                "users without payment": db.execute(
                    text(
                        "SELECT count(*) FROM users u WHERE NOT EXISTS "
                        "(SELECT 1 FROM payments p WHERE p.user_id = u.id)"
                    )
                ).scalar(),
                "users without progress": db.execute(
                    text(
                        "SELECT count(*) FROM users u WHERE NOT EXISTS "
                        "(SELECT 1 FROM student_progress s WHERE s.user_id = u.id)"
                    )
                ).scalar(),
                "users without welcome email": db.execute(
                    text(
                        "SELECT count(*) FROM users u WHERE NOT EXISTS "
                        "(SELECT 1 FROM email_outbox o WHERE o.user_id = u.id)"
                    )
                ).scalar(),
                "payments without user": db.execute(
                    text("SELECT count(*) FROM payments WHERE user_id IS NULL")
                ).scalar(),
            }
    finally:
        engine.dispose()
    assert set(broken.values()) == {0}, broken
