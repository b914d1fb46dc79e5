"""The server-rendered pages, through FastAPI's TestClient (no cluster, no database)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.deps import pages_settings_of, track_lister
from apranova_api.pages.routes import STATIC_FILES, TEMPLATES_DIR, router
from apranova_api.pages.settings import PagesSettings

TRACKS_DIR = Path(__file__).resolve().parents[3] / "manifests" / "tracks"
SHIPPED_TRACKS = [yaml.safe_load(path.read_text()) for path in sorted(TRACKS_DIR.glob("*.yaml"))]


def _client(list_tracks) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[track_lister] = lambda: list_tracks
    app.dependency_overrides[pages_settings_of] = PagesSettings
    return TestClient(app)


def _cluster_unreachable() -> list[dict]:
    raise KubeUnavailableError("cluster unreachable")


@pytest.fixture
def client() -> Iterator[TestClient]:
    with _client(lambda: SHIPPED_TRACKS) as test_client:
        yield test_client


def test_get_started_shows_every_track_with_price_tools_and_enroll_button(
    client: TestClient,
) -> None:
    response = client.get("/get-started")
    assert response.status_code == 200
    page = response.text
    for name, price, tool in [
        ("Data Professional", "$499", "JupyterLab"),
        ("Full-Stack Developer", "$599", "VS Code"),
    ]:
        assert name in page
        assert price in page
        assert tool in page
        assert f"Enroll in {name}" in page
    assert 'data-track="DP"' in page
    assert 'data-track="FSD"' in page


def test_get_started_says_so_when_the_tracks_cannot_be_listed() -> None:
    with _client(_cluster_unreachable) as test_client:
        response = test_client.get("/get-started")
    assert response.status_code == 503
    assert "cannot be loaded right now" in response.text
    assert "Enroll in" not in response.text


def test_track_text_is_escaped() -> None:
    hostile = {
        "metadata": {"name": "dp"},
        "spec": {
            "displayName": "<script>alert(1)</script>",
            "price": {"amount": 100, "currency": "usd"},
            "tools": [],
        },
    }
    with _client(lambda: [hostile]) as test_client:
        page = test_client.get("/get-started").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_root_goes_to_get_started(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/get-started"


def test_cancel_page_leads_back(client: TestClient) -> None:
    response = client.get("/payment/cancel")
    assert response.status_code == 200
    assert 'href="/get-started"' in response.text


@pytest.mark.parametrize(
    ("next_param", "expected"),
    [("/dashboard", "/dashboard"), ("//evil.example", "/dashboard"), ("", "/dashboard")],
)
def test_login_only_returns_to_this_site(
    client: TestClient, next_param: str, expected: str
) -> None:
    response = client.get("/login", params={"next": next_param})
    assert response.status_code == 200
    assert f'<input type="hidden" name="next" value="{expected}">' in response.text
    assert '<label for="login-email">' in response.text


def test_static_files_are_served_with_their_type(client: TestClient) -> None:
    css = client.get("/static/apranova.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    script = client.get("/static/api.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/..%2Fpages%2Froutes.py").status_code == 404
    assert client.get("/static/missing.js").status_code == 404


def test_templates_reference_only_local_files_that_exist() -> None:
    """No CDN: every script and stylesheet is one of ours, so the pages work offline."""
    for template in TEMPLATES_DIR.glob("*.html"):
        for reference in re.findall(r'(?:src|href)="([^"{]+\.(?:js|css))"', template.read_text()):
            assert reference.startswith("/static/"), f"{template.name}: {reference}"
            assert reference.removeprefix("/static/") in STATIC_FILES, (
                f"{template.name}: {reference}"
            )
