"""Where a page may send the browser next: only to a path on this site."""

from __future__ import annotations

DEFAULT_AFTER_LOGIN = "/dashboard"


def safe_next_path(candidate: str) -> str:
    """``candidate`` when it is a path on this site, else the dashboard.

    Refuses absolute URLs, scheme-relative ``//host`` and ``/\\host`` (which browsers treat as
    another host), and anything with control characters, so a crafted login link cannot send a
    student to another site after they log in.
    """
    if not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
        return DEFAULT_AFTER_LOGIN
    if any(ord(character) < 0x20 or character == "\x7f" for character in candidate):
        return DEFAULT_AFTER_LOGIN
    return candidate
