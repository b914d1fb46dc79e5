"""What the success page shows for each verify state (pure)."""

from __future__ import annotations

import pytest

from apranova_api.pages.success_view import success_state

COMMUNITY = "https://discord.gg/apranova"


def test_enrolled_shows_the_track_name_and_the_invite() -> None:
    body = {"status": "enrolled", "email": "ada@example.com", "track": "FSD", "discordInvite": None}
    context, status = success_state(200, body, COMMUNITY)
    assert status == 200
    assert context["track_name"] == "Full-Stack Developer"
    assert context["discord_url"] == COMMUNITY


@pytest.mark.parametrize(
    ("status", "body", "title", "http"),
    [
        (402, {"status": "failed", "detail": "declined."}, "did not go through", 402),
        (410, {"status": "expired", "detail": "expired."}, "has expired", 410),
        (409, {"status": "rejected", "detail": "x.", "money": "Refund."}, "cannot set up", 409),
        (200, {"status": "refunded_duplicate", "detail": "d."}, "already hold", 200),
        (404, {"detail": "unknown checkout session"}, "could not find", 404),
        (400, {"detail": "session_id is required"}, "could not check", 400),
    ],
)
def test_final_states_explain_themselves(status: int, body: dict, title: str, http: int) -> None:
    context, page_status = success_state(status, body, COMMUNITY)
    assert context["state"] == "problem"
    assert title in context["title"]
    assert page_status == http


def test_pending_and_processing_wait() -> None:
    assert success_state(202, {"status": "pending"}, COMMUNITY)[0]["state"] == "waiting"
    processing, _ = success_state(202, {"status": "processing", "detail": "Bank."}, COMMUNITY)
    assert processing["state"] == "processing" and processing["text"] == "Bank."
