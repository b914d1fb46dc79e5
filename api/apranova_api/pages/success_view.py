"""What the payment success page shows for a checkout session, decided on the server.

The same verification the page's script polls (``verify_checkout_session``) runs when the page
is requested, so the answer is on the page with or without JavaScript.
"""

from __future__ import annotations

from typing import Any

from apranova_api.curriculum import UnknownTrackError, load_curriculum
from apranova_api.payments.verify import verify_checkout_session
from apranova_api.services import Services

WAITING = "waiting"
PROCESSING = "processing"
WELCOME = "welcome"
PROBLEM = "problem"
MISSING = "missing"


def track_display_name(track: str) -> str:
    """The track's name for people (``Data Professional``), or its code when unknown."""
    try:
        return load_curriculum(track).title
    except UnknownTrackError:
        return track


PROBLEMS: dict[str, tuple[str, str, tuple[str, str] | None, bool]] = {
    "failed": (
        "Your payment did not go through",
        "Nothing was charged. You can try again, with another payment method if you like.",
        ("Try again", "/get-started"),
        False,
    ),
    "expired": (
        "This checkout has expired",
        "Choose a track to start a new one.",
        ("Back to the tracks", "/get-started"),
        False,
    ),
    "rejected": ("We cannot set up your enrollment", "", None, True),
    "refunded_duplicate": (
        "You already hold this track",
        "",
        ("Go to Login Page", "/login"),
        True,
    ),
}
"""Per final verify state (``payments/verify_states.py``): title, advice after the API's
``detail``, the button (text, link) or None, and whether to show the checkout reference."""


def problem(
    title: str, text: str, action: tuple[str, str] | None, reference: bool
) -> dict[str, Any]:
    """The context of the page's problem section."""
    return {
        "state": PROBLEM,
        "title": title,
        "text": text,
        "action": action,
        "reference": reference,
    }


def success_state(
    status: int, body: dict[str, Any], community_url: str
) -> tuple[dict[str, Any], int]:
    """The page's context and HTTP status from the verify answer (pure)."""
    state = str(body.get("status") or "")
    detail = str(body.get("detail") or "")
    if state == "enrolled" and body.get("email"):
        return {
            "state": WELCOME,
            "email": body["email"],
            "track_name": track_display_name(str(body.get("track") or "")),
            "discord_url": body.get("discordInvite") or community_url,
        }, 200
    if state == "pending":
        return {"state": WAITING, "verify_state": state}, 200
    if state == "processing":
        return {"state": PROCESSING, "verify_state": state, "text": detail}, 200
    if state in PROBLEMS:
        title, advice, action, reference = PROBLEMS[state]
        text = " ".join(part for part in (detail, str(body.get("money") or ""), advice) if part)
        return problem(title, text, action, reference), status
    if status == 404:
        return problem(
            "We could not find this checkout",
            "This payment link is unknown. If you paid, check your email for the message from "
            "ApraNova; otherwise choose a track to start again.",
            ("Back to the tracks", "/get-started"),
            False,
        ), 404
    return problem(
        "We could not check this payment",
        f"{detail or 'The server did not understand the request.'} If you paid, check your "
        "email for the message from ApraNova.",
        ("Back to the tracks", "/get-started"),
        True,
    ), (status if status >= 400 else 500)


def success_context(
    services: Services, session_id: str, community_url: str
) -> tuple[dict[str, Any], int]:
    """Context and status of ``/payment/success?session_id=...``; 400 without a session id."""
    if not session_id:
        return {"state": MISSING, "session_id": ""}, 400
    if len(session_id) > 255:
        context, status = success_state(404, {}, community_url)
    else:
        result = verify_checkout_session(services, session_id)
        context, status = success_state(result.status, result.body, community_url)
    return {**context, "session_id": session_id, "community_url": community_url}, status
