"""Prices for people, from amounts in a currency's smallest unit (as Stripe and Tracks keep them).

The one place amounts are formatted: the /get-started cards and the local checkout page use it.
"""

from __future__ import annotations

from collections.abc import Mapping

CURRENCY_SYMBOLS: Mapping[str, str] = {"usd": "$", "eur": "€", "gbp": "£", "inr": "₹"}

ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
        "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    }
)  # fmt: skip
"""Currencies whose Stripe amounts are already whole units (Stripe's own list)."""


def format_price(amount: int, currency: str) -> str:
    """A one-time price for people: ``49900, "usd"`` gives ``$499``; ``49950`` gives ``$499.50``.

    ``amount`` is in the currency's smallest unit, as Stripe and the `Track` resource keep it.
    Currencies without a symbol here are written with their upper-case code after the number.
    """
    code = currency.lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        number = f"{amount:,}"
    else:
        whole, cents = divmod(amount, 100)
        number = f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{symbol}{number}" if symbol else f"{number} {code.upper()}"
