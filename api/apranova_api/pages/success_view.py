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
WELCOME = "welcome"
PROBLEM = "problem"
MISSING = "missing"


def track_display_name(track: str) -> str:
    """The track's name for people (``Data Professional``), or its code when unknown."""
    try:
        return load_curriculum(track).title
    except UnknownTrackError:
        return track


def success_state(
    status: int, body: dict[str, Any], community_url: str
) -> tuple[dict[str, Any], int]:
    """The page's context and HTTP status from the verification's answer (pure)."""
    if status == 200 and body.get("email"):
        return {
            "state": WELCOME,
            "email": body["email"],
            "track_name": track_display_name(str(body.get("track") or "")),
            "discord_url": body.get("discordInvite") or community_url,
        }, 200
    if status == 404:
        return {
            "state": PROBLEM,
            "title": "We could not find this checkout",
            "text": "This payment link is unknown. If you paid, check your email for the "
            "message from ApraNova; otherwise choose a track to start again.",
        }, 404
    if 400 <= status < 500:
        detail = str(body.get("detail") or "The payment was not completed.")
        return {
            "state": PROBLEM,
            "title": "Your payment did not go through",
            "text": f"{detail} You can choose a track and try again.",
        }, status
    return {"state": WAITING}, 200


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
