"""The payment flow tests of tests/unit/api/test_payments_flow.py, on a real PostgreSQL."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.unit.api.test_payment_states import (  # noqa: F401  (collected here on PostgreSQL)
    test_a_cluster_422_parks_one_fulfilment_and_repair_goes_on,
    test_a_permanent_stripe_refusal_of_a_checkout_is_a_4xx_with_no_open_order,
    test_an_email_the_crd_would_refuse_is_rejected_before_any_write,
    test_delayed_payment_failure_is_final_and_emailed,
    test_delayed_payment_processing_then_enrolled,
    test_polls_ask_stripe_at_most_once_per_interval,
)
from tests.unit.api.test_payments_flow import (  # noqa: F401  (collected here on PostgreSQL)
    test_async_failure_marks_the_order_failed,
    test_cluster_outage_answers_503_then_the_retry_completes,
    test_completed_event_fulfils_everything_once,
    test_concurrent_duplicate_deliveries_give_one_of_everything,
    test_refund_and_dispute_suspend_the_enrollment,
    test_refund_before_fulfilment_is_applied_at_fulfilment,
    test_refused_deliveries_write_nothing,
    test_repair_pass_creates_missing_and_suspends_refunded_enrollments,
    test_same_local_part_gets_distinct_usernames,
    test_unpaid_session_waits_for_async_success_in_any_order,
    test_verify_completes_fulfilment_when_the_webhook_is_late,
)
from tests.unit.api.test_purchases_flow import (  # noqa: F401  (on PostgreSQL)
    test_a_dispute_before_fulfilment_is_applied_at_fulfilment,
    test_a_duplicate_refund_during_a_stripe_outage_is_made_later,
    test_a_failed_refund_lifts_the_suspension_it_caused,
    test_a_late_older_partial_refund_event_leaves_the_payment_refunded,
    test_a_lost_dispute_revokes_and_a_new_purchase_reinstates,
    test_a_second_track_with_the_same_email_is_a_second_enrollment,
    test_buying_a_held_track_again_is_refunded_automatically,
    test_the_dispute_lifecycle,
)
from tests.unit.api.test_purchases_migration import (  # noqa: F401  (on PostgreSQL)
    test_migration_0003_carries_one_track_rows_over,
)

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def database_url(postgres_server: Any) -> str:
    """A fresh PostgreSQL database per test."""
    return postgres_server.create_database(f"payments_{secrets.token_hex(6)}")
