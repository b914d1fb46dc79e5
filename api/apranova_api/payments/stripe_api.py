"""The Stripe API version this product speaks, pinned here and nowhere else.

Every request the Stripe gateway sends carries ``Stripe-Version: STRIPE_API_VERSION``, so an SDK
upgrade cannot silently change the shape of the objects we read. The SDK's major version is
bounded in ``pyproject.toml`` (each major release of ``stripe`` targets one Stripe API release,
the name after the date); ``tests/unit/api/test_stripe_settings.py`` fails when the installed SDK
targets another release than this constant. Stripe's versioning:
https://docs.stripe.com/api/versioning and https://docs.stripe.com/sdks/versioning.
"""

from __future__ import annotations

STRIPE_API_VERSION = "2026-10-28.endive"


def api_release(version: str) -> str:
    """The release name of an API version: ``2026-10-28.endive`` -> ``endive`` (pure)."""
    return version.partition(".")[2]
