"""The answers of the verify endpoint: one state per situation a buyer can be in (pure).

Every state is decided from database facts alone (:class:`VerifyFacts`); nothing here does I/O.
The success page (``static/payment_success.js``) shows one text per state. README, section api,
"Verify states", has the same table.

- ``pending`` (202, Retry-After 3): not paid yet, or paid and the enrollment is on its way;
- ``processing`` (202, Retry-After 30): a delayed method (bank debit) is settling; days; email;
- ``failed`` (402): the payment did not go through (the reason); the buyer may try again;
- ``expired`` (410): the checkout expired unpaid;
- ``enrolled`` (200): the account and the enrollment exist;
- ``refunded_duplicate`` (200): already held this track; refunded (purchases, issue 12);
- ``rejected`` (409): paid but cannot be served: the reason and what happens to the money.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from apranova_api.models import ORDER_EXPIRED, ORDER_FAILED, ORDER_PROCESSING
from apranova_contract.status import PENDING as PENDING_PHASE
from apranova_contract.status import TERMINATING, enrollment_view


class VerifyState(StrEnum):
    """What the buyer of a checkout session is told."""

    PENDING = "pending"
    PROCESSING = "processing"
    FAILED = "failed"
    EXPIRED = "expired"
    ENROLLED = "enrolled"
    REFUNDED_DUPLICATE = "refunded_duplicate"
    REJECTED = "rejected"


HTTP_STATUS = {
    VerifyState.PENDING: 202,
    VerifyState.PROCESSING: 202,
    VerifyState.FAILED: 402,
    VerifyState.EXPIRED: 410,
    VerifyState.ENROLLED: 200,
    VerifyState.REFUNDED_DUPLICATE: 200,
    VerifyState.REJECTED: 409,
}
RETRY_AFTER_SECONDS = {VerifyState.PENDING: 3, VerifyState.PROCESSING: 30}
FINAL_STATES = frozenset(HTTP_STATUS) - frozenset(RETRY_AFTER_SECONDS)
"""States that never change by themselves: no Stripe re-read is worth asking for."""

REJECTED_MONEY = (
    "Support has been alerted and will refund your payment in full; you do not need to do "
    "anything. Quote this checkout reference if you write to us."
)
PROCESSING_TEXT = (
    "Your bank is processing the payment. This can take a few business days; we will email you "
    "as soon as it succeeds or fails. There is nothing more to pay."
)


@dataclass(frozen=True)
class VerifyFacts:
    """What the database (and the cluster, for ``enrollment``) says about one session.

    ``order_status`` is ``None`` for a session known only by its payment.
    """

    order_status: str | None
    failure_reason: str | None = None
    parked_reason: str | None = None
    paid: bool = False
    enrollment: dict[str, Any] | None = None
    student: dict[str, Any] = field(default_factory=dict)
    duplicate: bool = False
    """The student already held the track: this purchase is refunded (``refund_id`` once
    Stripe accepted the refund)."""
    refund_id: str | None = None


@dataclass(frozen=True)
class Verification:
    """HTTP status, body and headers of a verify answer."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def decide(facts: VerifyFacts) -> VerifyState:
    """The state for ``facts``: a parked checkout is ``rejected`` even once paid."""
    if facts.parked_reason is not None:
        return VerifyState.REJECTED
    if facts.paid:
        if facts.enrollment is None or _terminating(facts.enrollment):
            return VerifyState.PENDING
        if facts.duplicate:
            return VerifyState.REFUNDED_DUPLICATE if facts.refund_id else VerifyState.PENDING
        return VerifyState.ENROLLED
    if facts.order_status == ORDER_FAILED:
        return VerifyState.FAILED
    if facts.order_status == ORDER_EXPIRED:
        return VerifyState.EXPIRED
    if facts.order_status == ORDER_PROCESSING:
        return VerifyState.PROCESSING
    return VerifyState.PENDING


def _terminating(enrollment: dict[str, Any]) -> bool:
    """Being deleted: marked for deletion, or its status already says so."""
    deleting = (enrollment.get("metadata") or {}).get("deletionTimestamp")
    return bool(deleting) or enrollment_view(enrollment).phase == TERMINATING


def answer(state: VerifyState, facts: VerifyFacts) -> Verification:
    """The HTTP answer for ``state`` (body fields per state; see the module table)."""
    body: dict[str, Any] = {"status": str(state)}
    headers: dict[str, str] = {}
    retry = RETRY_AFTER_SECONDS.get(state)
    if retry is not None:
        body["retryAfterSeconds"] = retry
        headers["Retry-After"] = str(retry)
    if state is VerifyState.PROCESSING:
        body["detail"] = PROCESSING_TEXT
    elif state is VerifyState.FAILED:
        reason = facts.failure_reason or "the payment was declined"
        body.update(reason=reason, detail=f"Your payment did not go through: {reason}.")
    elif state is VerifyState.EXPIRED:
        body["detail"] = "This checkout expired before it was paid; nothing was charged."
    elif state is VerifyState.REJECTED:
        reason = facts.parked_reason or ""
        body.update(
            reason=reason,
            money=REJECTED_MONEY,
            detail=f"We received your payment but cannot set up your enrollment: {reason}.",
        )
    elif state in (VerifyState.ENROLLED, VerifyState.REFUNDED_DUPLICATE) and facts.enrollment:
        view = enrollment_view(facts.enrollment)
        body.update(
            facts.student,
            phase=view.phase or PENDING_PHASE,
            discordInvite=view.discord_invite,
        )
        if state is VerifyState.REFUNDED_DUPLICATE:
            body["refundId"] = facts.refund_id
            body["detail"] = (
                f"You are already enrolled in {facts.student.get('track', 'this track')}, so "
                "this payment was refunded in full; we sent you an email about it."
            )
    return Verification(HTTP_STATUS[state], body, headers)
