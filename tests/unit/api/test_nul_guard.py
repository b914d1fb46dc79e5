"""Requests with a NUL in the path, query or body are refused with 400 before any handler."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from apranova_api.nul_guard import NulGuard, has_nul


def test_markers_per_content_type() -> None:
    assert has_nul(b"/x?session_id=a%00b", "")
    assert has_nul(b'{"email": "a\\u0000b"}', "application/json")
    assert not has_nul(b'{"password": "50%00"}', "application/json")
    assert has_nul(b"email=a%00b", "application/x-www-form-urlencoded")
    assert has_nul(b"raw\x00byte", "text/plain")
    assert not has_nul(b'{"name": "Zo\\u00eb"}', "application/json")


def _client() -> TestClient:
    app = FastAPI()
    app.add_middleware(NulGuard)

    @app.api_route("/echo", methods=["GET", "POST"])
    async def echo(request: Request) -> dict[str, str]:
        return {"body": (await request.body()).decode()}

    return TestClient(app)


def test_clean_requests_pass_with_their_body_intact() -> None:
    client = _client()
    assert client.post("/echo", json={"a": "é"}).json() == {"body": '{"a":"é"}'}
    assert client.get("/echo", params={"q": "x"}).status_code == 200


def test_nul_anywhere_is_refused() -> None:
    client = _client()
    assert client.get("/echo", params={"q": "a\x00"}).status_code == 400
    assert client.post("/echo", json={"a": "\x00"}).status_code == 400
    assert client.post("/echo", data={"a": "\x00"}).status_code == 400
