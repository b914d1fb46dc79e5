"""Opaque secret tokens: generated here, shown to their owner once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    """A fresh URL-safe token with 256 bits of randomness."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest stored in place of ``token``.

    The tokens are random, so an unsalted fast hash is enough: nothing can be guessed from it.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
