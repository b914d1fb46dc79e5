"""Purchases and what they grant, as pure functions of plain data.

A purchase (one paid checkout session) grants exactly one enrollment of one track. Whether that
enrollment may run is decided from the *latest* state of the purchases that grant it, as Stripe
reports it when asked again (the charge and its dispute), never from the order in which events
arrived: a late, older event re-reads the same latest state and so changes nothing.

Stripe's objects (API reference, https://docs.stripe.com/api): a Charge has ``id``, ``amount``,
``amount_refunded``, ``refunded`` and a nullable ``payment_intent``; a Dispute has ``id``,
``charge``, a nullable ``payment_intent``, ``amount``, ``reason`` and ``status`` (inquiries:
``warning_needs_response``, ``warning_under_review``, ``warning_closed``; disputes:
``needs_response``, ``under_review``, ``won``, ``lost``; and ``prevented``); a Refund has ``id``,
``charge``, a nullable ``payment_intent`` and ``status`` (``pending``, ``requires_action``,
``succeeded``, ``failed``, ``canceled``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Payment statuses (the ``payments.status`` column), derived by :func:`payment_status`.
SUCCEEDED = "SUCCEEDED"
PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
REFUNDED = "REFUNDED"
DISPUTE_INQUIRY = "DISPUTE_INQUIRY"
DISPUTED = "DISPUTED"
DISPUTE_WON = "DISPUTE_WON"
DISPUTE_LOST = "DISPUTE_LOST"

ENTITLING_STATUSES = frozenset({SUCCEEDED, PARTIALLY_REFUNDED, DISPUTE_INQUIRY, DISPUTE_WON})
"""A purchase in one of these states pays for its enrollment."""

# What a purchase is to its enrollment (the ``payments.grant`` column).
GRANT = "grant"
DUPLICATE = "duplicate"

# Enrollment states, derived by :func:`enrollment_standing`.
ACTIVE = "ACTIVE"
SUSPENDED = "SUSPENDED"
REVOKED = "REVOKED"

# Fulfilment actions, decided by :func:`decide_fulfilment`.
NEW_ENROLLMENT = "new_enrollment"
REINSTATE = "reinstate"
REFUND_DUPLICATE = "refund_duplicate"

INQUIRY_OPEN = frozenset({"warning_needs_response", "warning_under_review"})
DISPUTE_OPEN = frozenset({"needs_response", "under_review"})
DISPUTE_RESOLVED_FOR_US = frozenset({"won", "warning_closed", "prevented"})

CHARGE_EVENTS = frozenset({"charge.refunded", "charge.succeeded", "charge.updated"})
REFUND_EVENTS = frozenset(
    {"charge.refund.updated", "refund.created", "refund.updated", "refund.failed"}
)
DISPUTE_EVENTS = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    }
)
PURCHASE_EVENTS = CHARGE_EVENTS | REFUND_EVENTS | DISPUTE_EVENTS
"""Event types whose object points at a purchase's charge (see :func:`charge_reference`)."""


@dataclass(frozen=True)
class ChargeFacts:
    """A Stripe Charge as Stripe reports it now. Amounts in the currency's minor unit."""

    id: str
    payment_intent_id: str | None
    amount: int
    amount_refunded: int
    refunded: bool

    @property
    def fully_refunded(self) -> bool:
        """True when every cent went back (Stripe sets ``refunded`` then)."""
        return self.refunded or (self.amount > 0 and self.amount_refunded >= self.amount)


@dataclass(frozen=True)
class DisputeFacts:
    """A Stripe Dispute as Stripe reports it now."""

    id: str
    charge_id: str
    payment_intent_id: str | None
    status: str
    amount: int
    reason: str


@dataclass(frozen=True)
class ChargeReference:
    """Which purchase an event is about: its charge, and its dispute when it is one."""

    charge_id: str
    payment_intent_id: str | None
    dispute_id: str | None = None


@dataclass(frozen=True)
class EnrollmentStanding:
    """Whether an enrollment may run. ``entitled``: some purchase still pays for it."""

    state: str
    entitled: bool
    reason: str | None = None

    @property
    def suspended(self) -> bool:
        """True when its tools must be scaled to zero (``spec.suspended``)."""
        return self.state != ACTIVE


@dataclass(frozen=True)
class HeldEnrollment:
    """An enrollment a student has (any state), as the fulfilment decision needs it."""

    name: str
    track: str
    standing: EnrollmentStanding


@dataclass(frozen=True)
class FulfilmentDecision:
    """What a paid purchase does: ``action`` and the existing enrollment it concerns, if any."""

    action: str
    enrollment_name: str | None = None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _object_id(value: Any) -> str | None:
    """An id from a field that Stripe sends either as an id or, when expanded, as an object."""
    if isinstance(value, Mapping):
        return _text(value.get("id"))
    return _text(value)


def charge_facts(charge: Mapping[str, Any]) -> ChargeFacts:
    """:class:`ChargeFacts` from a Charge object (a dict, as Stripe sends it)."""
    return ChargeFacts(
        id=str(charge["id"]),
        payment_intent_id=_object_id(charge.get("payment_intent")),
        amount=int(charge.get("amount") or 0),
        amount_refunded=int(charge.get("amount_refunded") or 0),
        refunded=bool(charge.get("refunded")),
    )


def dispute_facts(dispute: Mapping[str, Any]) -> DisputeFacts:
    """:class:`DisputeFacts` from a Dispute object."""
    return DisputeFacts(
        id=str(dispute["id"]),
        charge_id=_object_id(dispute.get("charge")) or "",
        payment_intent_id=_object_id(dispute.get("payment_intent")),
        status=str(dispute.get("status") or ""),
        amount=int(dispute.get("amount") or 0),
        reason=str(dispute.get("reason") or "unknown"),
    )


def charge_reference(event_type: str, obj: Mapping[str, Any]) -> ChargeReference | None:
    """The charge (and dispute) an event's object points at; ``None`` when it names none.

    A charge event's object is the Charge, a refund event's the Refund, a dispute event's the
    Dispute; the payment intent may be null on each (a dispute is then resolved by its charge).
    """
    if event_type in CHARGE_EVENTS:
        charge_id = _text(obj.get("id"))
    elif event_type in REFUND_EVENTS or event_type in DISPUTE_EVENTS:
        charge_id = _object_id(obj.get("charge"))
    else:
        return None
    if charge_id is None:
        return None
    dispute_id = _text(obj.get("id")) if event_type in DISPUTE_EVENTS else None
    return ChargeReference(charge_id, _object_id(obj.get("payment_intent")), dispute_id)


def payment_status(charge: ChargeFacts | None, dispute: DisputeFacts | None) -> str:
    """The status of a purchase from the latest charge and dispute (either may be unknown).

    Precedence: a lost dispute, then a full refund (both revoke), an open dispute (suspends), an
    open inquiry, a partial refund, a dispute closed in our favour, else succeeded. A dispute
    status this code does not know is taken as an open dispute.
    """
    status = dispute.status if dispute is not None else None
    if status == "lost":
        return DISPUTE_LOST
    if charge is not None and charge.fully_refunded:
        return REFUNDED
    if status is not None and status not in INQUIRY_OPEN | DISPUTE_RESOLVED_FOR_US:
        return DISPUTED
    if status in INQUIRY_OPEN:
        return DISPUTE_INQUIRY
    if charge is not None and charge.amount_refunded > 0:
        return PARTIALLY_REFUNDED
    if status in DISPUTE_RESOLVED_FOR_US:
        return DISPUTE_WON
    return SUCCEEDED


def enrollment_standing(
    grant_statuses: Sequence[str], admin_reason: str | None = None, dispute_reason: str = ""
) -> EnrollmentStanding:
    """Whether an enrollment may run, from the statuses of the purchases that grant it.

    Entitled while any granting purchase is in :data:`ENTITLING_STATUSES` (an enrollment carried
    over without a purchase row is entitled: nothing says the money went back). Not entitled: an
    open dispute suspends (reason ``dispute: <reason>``), otherwise it is revoked (``refunded``
    or ``dispute lost``). Support's suspension (``admin_reason``) suspends an entitled one.
    Duplicate purchases never grant and are not passed here.
    """
    entitled = not grant_statuses or any(s in ENTITLING_STATUSES for s in grant_statuses)
    if entitled:
        if admin_reason:
            return EnrollmentStanding(SUSPENDED, True, admin_reason)
        return EnrollmentStanding(ACTIVE, True)
    if DISPUTED in grant_statuses:
        return EnrollmentStanding(SUSPENDED, False, f"dispute: {dispute_reason or 'unknown'}")
    if REFUNDED in grant_statuses:
        return EnrollmentStanding(REVOKED, False, "refunded")
    return EnrollmentStanding(REVOKED, False, "dispute lost")


def decide_fulfilment(track: str, held: Sequence[HeldEnrollment]) -> FulfilmentDecision:
    """What a new paid purchase of ``track`` does for a student holding ``held``.

    A track held and still paid for (entitled, even if support suspended it): the purchase is a
    duplicate and its money goes back. A track held and lost (refunded, disputed): the purchase
    reinstates that enrollment (same name, so the same namespace and data). Otherwise: a new
    enrollment.
    """
    for enrollment in held:
        if enrollment.track == track:
            if enrollment.standing.entitled:
                return FulfilmentDecision(REFUND_DUPLICATE, enrollment.name)
            return FulfilmentDecision(REINSTATE, enrollment.name)
    return FulfilmentDecision(NEW_ENROLLMENT)


def duplicate_refund_key(payment_intent_id: str | None, checkout_session_id: str) -> str:
    """The idempotency key of a duplicate purchase's refund: one refund per payment, ever."""
    return f"apranova-duplicate-refund-{payment_intent_id or checkout_session_id}"
