"""Schemathesis over the API's own OpenAPI description, against a running API on PostgreSQL:
whatever it sends that the description allows (and much that it does not), no answer is a 5xx.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from kubernetes import client

from tests.e2e import test_payments_cluster as paying
from tests.faults import fleet
from tests.support.api_process import start_api
from tests.support.smtp import SmtpSink
from tests.support.stripe_standin import StripeStandIn

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.timeout(900)]

RUN = "s" + secrets.token_hex(3)
SELECTOR = f"apranova.io/test-run=schema-{RUN}"


@pytest.fixture(scope="module")
def api_schema(
    crds_applied: str,
    postgres_server: Any,
    k8s_api_client: client.ApiClient,
    test_output_dir: Path,
) -> Iterator[Any]:
    stripe = StripeStandIn().start()
    sink = SmtpSink()
    sink.start()
    database_url = postgres_server.create_database(f"schema_{RUN}")
    env = {
        **paying._env(stripe, database_url, crds_applied),
        "ENROLLMENT_LABELS": SELECTOR,
        "SMTP_URL": sink.url,
    }
    api = start_api(env, test_output_dir / f"api-schemathesis-{RUN}.log")
    objects = client.CustomObjectsApi(k8s_api_client)
    try:
        yield schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    finally:
        api.stop()
        sink.stop()
        stripe.stop()
        fleet.delete_all(objects, fleet.enrollments(objects, SELECTOR))


FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_no_operation_answers_5xx(api_schema: Any) -> None:
    """Every operation of the description, each with generated cases (valid and not)."""
    failures: list[tuple[str, str, int, str]] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert operations

    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy())
        def answers_below_500(case: Any) -> None:
            response = case.call(timeout=60)
            if response.status_code >= 500:
                failures.append(
                    (case.method, case.formatted_path, response.status_code, response.text[:200])
                )

        answers_below_500()
    assert failures == [], failures
