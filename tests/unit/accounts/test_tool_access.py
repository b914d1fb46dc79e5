from __future__ import annotations

from apranova_api.accounts.tool_access import (
    decide,
    login_url,
    requested_host,
    requested_url,
)


def test_only_the_owner_is_allowed() -> None:
    assert decide("jupyter-ada.example.com", "ada", "ada").status == 200
    assert decide("jupyter-ada.example.com", "bob", "ada").status == 403
    assert decide("jupyter-ada.example.com", None, "ada").status == 401
    assert decide("unknown.example.com", "ada", None).status == 403
    assert decide(None, "ada", None).status == 403


def test_host_from_traefik_and_nginx_headers() -> None:
    assert requested_host({"x-forwarded-host": "Jupyter-Ada.example.com:443"}) == (
        "jupyter-ada.example.com"
    )
    nginx = {"x-original-url": "https://code-bob.example.com/lab?x=1"}
    assert requested_host(nginx) == "code-bob.example.com"
    assert requested_url(nginx) == "https://code-bob.example.com/lab?x=1"
    assert requested_host({}) is None
    both = {**nginx, "x-forwarded-host": "apranova-api.apranova.svc"}
    assert requested_host(both) == "code-bob.example.com"


def test_login_url_carries_where_to_go_next() -> None:
    traefik = {"x-forwarded-host": "a.example.com", "x-forwarded-proto": "https"}
    traefik["x-forwarded-uri"] = "/lab"
    url = login_url("https://apranova.io", requested_url(traefik))
    assert url == "https://apranova.io/login?next=https%3A%2F%2Fa.example.com%2Flab"
    assert login_url("https://apranova.io", None) == "https://apranova.io/login"
