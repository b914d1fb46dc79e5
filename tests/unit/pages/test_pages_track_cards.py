"""The /get-started cards are built from `Track` resources alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from apranova_api.money import format_price
from apranova_api.pages.track_cards import (
    tool_label,
    track_card,
    track_cards,
    track_tools,
)

TRACKS_DIR = Path(__file__).resolve().parents[3] / "manifests" / "tracks"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (49900, "usd", "$499"),
        (59900, "USD", "$599"),
        (49950, "usd", "$499.50"),
        (49905, "usd", "$499.05"),
        (123456700, "eur", "€1,234,567"),
        (5000, "jpy", "5,000 JPY"),
        (1999, "chf", "19.99 CHF"),
    ],
)
def test_format_price(amount: int, currency: str, expected: str) -> None:
    assert format_price(amount, currency) == expected


def test_tool_label_prefers_display_name_then_kind_then_name() -> None:
    assert tool_label({"name": "code", "kind": "codeserver", "displayName": "My IDE"}) == "My IDE"
    assert tool_label({"name": "code", "kind": "codeserver"}) == "VS Code"
    assert tool_label({"name": "notebook", "kind": "unknownkind"}) == "notebook"


def _track(name: str, amount: int, **spec: object) -> dict:
    return {
        "metadata": {"name": name},
        "spec": {"price": {"amount": amount, "currency": "usd"}, "tools": [], **spec},
    }


def test_track_card_carries_everything_the_page_shows() -> None:
    card = track_card(
        _track(
            "dp",
            49900,
            displayName="Data Professional",
            description="Data all day.",
            features=["Your own schema", "Discord"],
            tools=[
                {"name": "jupyter", "kind": "jupyterlab"},
                {"name": "superset", "kind": "superset"},
            ],
        )
    )
    assert card.code == "DP"
    assert card.display_name == "Data Professional"
    assert card.description == "Data all day."
    assert card.features == ("Your own schema", "Discord")
    assert card.tools == ("JupyterLab", "Superset")
    assert card.price == "$499"


def test_track_cards_are_ordered_by_price_then_name() -> None:
    cards = track_cards(
        [
            _track("fsd", 59900, displayName="Full-Stack"),
            _track("dp", 49900, displayName="Data"),
            _track("aa", 49900, displayName="Analytics"),
        ]
    )
    assert [card.code for card in cards] == ["AA", "DP", "FSD"]


def test_the_shipped_tracks_render() -> None:
    tracks = [yaml.safe_load(path.read_text()) for path in sorted(TRACKS_DIR.glob("*.yaml"))]
    cards = {card.code: card for card in track_cards(tracks)}
    assert cards["DP"].price == "$499"
    assert cards["FSD"].price == "$599"
    assert "JupyterLab" in cards["DP"].tools
    assert cards["DP"].features and cards["FSD"].features


def test_track_tools_list_each_tracks_tools_by_code_in_order() -> None:
    tracks = [yaml.safe_load(path.read_text()) for path in sorted(TRACKS_DIR.glob("*.yaml"))]
    tools = track_tools(tracks)
    assert tools["DP"] == [
        {"name": "jupyter", "label": "JupyterLab"},
        {"name": "superset", "label": "Superset"},
        {"name": "prefect", "label": "Prefect"},
    ]
    assert tools["FSD"] == [{"name": "code", "label": "VS Code"}]
