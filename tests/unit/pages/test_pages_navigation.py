"""After logging in, the browser only ever goes to a path on this site."""

from __future__ import annotations

import pytest

from apranova_api.pages.navigation import safe_next_path


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard?tab=tools", "/payment/success?x=1"])
def test_paths_on_this_site_are_kept(path: str) -> None:
    assert safe_next_path(path) == path


@pytest.mark.parametrize(
    "path",
    ["", "dashboard", "https://evil.example/", "//evil.example/", "/\\evil.example", "/a\r\nb"],
)
def test_anything_else_goes_to_the_dashboard(path: str) -> None:
    assert safe_next_path(path) == "/dashboard"
