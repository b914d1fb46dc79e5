"""What the /get-started page shows for each `Track` resource, built from the resource alone.

Pure functions: they take the `Track` objects as the Kubernetes API returns them (plain dicts)
and give the page everything it renders, so the price formatting and the ordering are tested
without a cluster or a browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CURRENCY_SYMBOLS: Mapping[str, str] = {"usd": "$", "eur": "€", "gbp": "£", "inr": "₹"}

ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
        "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    }
)  # fmt: skip
"""Currencies whose Stripe amounts are already whole units (Stripe's own list)."""

TOOL_LABELS: Mapping[str, str] = {
    "jupyterlab": "JupyterLab",
    "superset": "Superset",
    "prefect": "Prefect",
    "codeserver": "VS Code",
}
"""Names for tools whose `Track` entry has no ``displayName``, by the tool's kind."""


@dataclass(frozen=True)
class TrackCard:
    """One track as the page renders it; ``code`` is what checkout is asked for (``DP``)."""

    code: str
    display_name: str
    description: str
    features: tuple[str, ...]
    tools: tuple[str, ...]
    price: str
    price_amount: int


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


def tool_label(tool: Mapping[str, Any]) -> str:
    """The tool's ``displayName``; without one, the usual name of its kind, else its own name."""
    if tool.get("displayName"):
        return str(tool["displayName"])
    kind = str(tool.get("kind", ""))
    return TOOL_LABELS.get(kind, str(tool.get("name") or kind))


def track_code(track: Mapping[str, Any]) -> str:
    """The code checkout and the API use for a track (``DP``): its resource name upper-cased.

    Resource names are lower-case DNS labels (``dp``); the API speaks of DP and FSD.
    """
    return str(track["metadata"]["name"]).upper()


def track_card(track: Mapping[str, Any]) -> TrackCard:
    """The card for one `Track` resource."""
    code = track_code(track)
    spec = track.get("spec", {})
    price = spec.get("price", {})
    amount = int(price.get("amount", 0))
    return TrackCard(
        code=code,
        display_name=str(spec.get("displayName") or code),
        description=str(spec.get("description", "")),
        features=tuple(str(feature) for feature in spec.get("features", [])),
        tools=tuple(tool_label(tool) for tool in spec.get("tools", [])),
        price=format_price(amount, str(price.get("currency", "usd"))),
        price_amount=amount,
    )


def track_cards(tracks: Iterable[Mapping[str, Any]]) -> list[TrackCard]:
    """The cards for every track, cheapest first (then by name) so the order is stable."""
    cards = [track_card(track) for track in tracks]
    return sorted(cards, key=lambda card: (card.price_amount, card.display_name))


def track_tools(tracks: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Each track's tools as the dashboard's cards name them, by track code, in track order.

    The dashboard draws a card for every tool of the student's track at once (each "getting
    ready") and fills in readiness and URL from ``GET /api/accounts/tools/``, which reports
    tools by name (``jupyter``) only once the operator has written the enrollment's status.
    """
    return {
        track_code(track): [
            {"name": str(tool["name"]), "label": tool_label(tool)}
            for tool in track.get("spec", {}).get("tools", [])
        ]
        for track in tracks
    }
