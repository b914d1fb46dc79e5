"""The security headers and the access log as pure functions."""

from __future__ import annotations

import os

import pytest

from apranova.local.stack import operator_environment
from apranova_api.access_log import access_fields, access_line, request_id_from
from apranova_api.main import run_api
from apranova_api.security_headers import CONTENT_SECURITY_POLICY, response_headers


def _named(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name.lower()]


def test_every_response_gets_the_security_headers_and_personal_ones_no_store() -> None:
    headers = response_headers("/api/accounts/me/", [("content-type", "application/json")])
    assert _named(headers, "X-Content-Type-Options") == ["nosniff"]
    assert _named(headers, "X-Frame-Options") == ["DENY"]
    assert _named(headers, "Referrer-Policy") == ["same-origin"]
    assert "frame-ancestors 'none'" in _named(headers, "Content-Security-Policy")[0]
    assert _named(headers, "Cache-Control") == ["no-store"]
    assert _named(headers, "content-type") == ["application/json"]


def test_a_route_cannot_make_a_personal_response_cacheable() -> None:
    headers = response_headers("/dashboard", [("Cache-Control", "max-age=3600")])
    assert _named(headers, "Cache-Control") == ["no-store"]


def test_static_files_keep_their_own_caching() -> None:
    headers = response_headers("/static/api.js", [("cache-control", "no-cache")])
    assert _named(headers, "Cache-Control") == ["no-cache"]
    assert _named(headers, "X-Content-Type-Options") == ["nosniff"]


def test_the_policy_allows_no_inline_script_or_style() -> None:
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert "style-src 'self';" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


def test_request_ids_from_callers_are_kept_only_when_plain() -> None:
    assert request_id_from({"x-request-id": "proxy-1234.abc"}) == "proxy-1234.abc"
    generated = request_id_from({"x-request-id": "bad id\nwith newline"})
    assert len(generated) == 32 and "\n" not in generated
    assert request_id_from({}) != request_id_from({})


def test_the_access_line_has_every_field() -> None:
    fields = access_fields("GET", "/dashboard", 200, 0.01234, "r1")
    assert fields["duration_ms"] == 12.3
    assert access_line(fields) == "GET /dashboard 200 12.3ms request_id=r1"


def test_public_base_url_defaults_to_the_address_the_api_listens_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "recorded, so that the test's own value is undone")
    monkeypatch.delenv("PUBLIC_BASE_URL")
    monkeypatch.setenv("SESSION_TTL_SECONDS", "-1")  # stops run_api right after the settings
    assert run_api(["--host", "0.0.0.0", "--port", "9123"]) == 2
    assert os.environ["PUBLIC_BASE_URL"] == "http://127.0.0.1:9123"
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://apranova.example")
    run_api(["--port", "9123"])
    assert os.environ["PUBLIC_BASE_URL"] == "https://apranova.example"


def test_make_run_keeps_the_operator_endpoints_on_loopback() -> None:
    env = operator_environment({"PATH": "/bin"}, "postgresql://x", 8081, 9091)
    assert env["OPERATOR_HEALTH_HOST"] == "127.0.0.1"
    assert (env["OPERATOR_HEALTH_PORT"], env["OPERATOR_METRICS_PORT"]) == ("8081", "9091")
    assert env["PATH"] == "/bin"
