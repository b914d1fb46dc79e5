"""Signed events whose fields have the wrong type or size are refused, naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from apranova_api.payments.event_shape import shape_problem


def event(kind: str, **obj: Any) -> dict[str, Any]:
    return {"id": "evt_1", "type": kind, "data": {"object": obj}}


def test_well_formed_events_pass() -> None:
    assert shape_problem(event("checkout.session.completed", id="cs_1")) is None
    charge = event("charge.refunded", payment_intent="pi_1", amount=100, refunded=True)
    assert shape_problem(charge) is None
    assert shape_problem(event("charge.dispute.created", payment_intent=None)) is None
    assert shape_problem(event("customer.created", anything=[1, {"x": None}])) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "Stripe event"),
        ({"id": "evt", "type": "x", "data": ["object"]}, "Stripe event"),
        ({"id": "evt", "type": "x", "data": "object"}, "Stripe event"),
        ({"id": 7, "type": "x", "data": {"object": {}}}, "Stripe event"),
        ({"id": "e" * 256, "type": "x", "data": {"object": {}}}, "event id"),
        ({"id": "evt", "type": "t" * 101, "data": {"object": {}}}, "event type"),
        (event("customer.created", name="a\x00b"), "NUL"),
        (event("checkout.session.completed", id={"x": 1}), "data.object.id"),
        (event("checkout.session.completed"), "data.object.id"),
        (event("checkout.session.async_payment_failed", id="cs", client_reference_id=[]), "client"),
        (event("charge.refunded", payment_intent=5), "payment_intent"),
        (event("charge.refunded", payment_intent="pi", amount="100"), "amount"),
        (event("charge.refunded", payment_intent="pi", amount_refunded=True), "amount_refunded"),
        (event("charge.refunded", payment_intent="pi", amount=-1), "amount"),
        (event("charge.refunded", payment_intent="pi", refunded="yes"), "refunded"),
        (event("charge.dispute.created", payment_intent="pi", reason="r" * 101), "reason"),
    ],
)
def test_bad_fields_are_named(body: Any, field: str) -> None:
    problem = shape_problem(body)
    assert problem is not None and field in problem
