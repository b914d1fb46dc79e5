"""Student rows for tests that write straight into the API's database."""

from __future__ import annotations

from apranova_api.models import Enrollment, User


def paid_student(
    name: str, track: str, email: str = "ada@example.com", username: str = "ada"
) -> User:
    """A new ``User`` who has paid and accepted the privacy notice, with one enrollment of
    ``track`` named after the username; add it to a session."""
    return User(
        email=email,
        name=name,
        username=username,
        track=track,
        payment_verified=True,
        privacy_accepted=True,
        enrollments=[Enrollment(track=track, name=username)],
    )
