"""The security headers and the access log as pure functions."""

from __future__ import annotations

from apranova_api.access_log import access_fields, access_line, request_id_from
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
