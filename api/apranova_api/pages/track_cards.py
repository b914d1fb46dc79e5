"""What the /get-started page shows for each `Track` resource, built from the resource alone.

Pure functions: they take the `Track` objects as the Kubernetes API returns them (plain dicts)
and give the page everything it renders, so the price formatting and the ordering are tested
without a cluster or a browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from apranova_api.money import format_price

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
