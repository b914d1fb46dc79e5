"""``LOCAL_TOOLS*`` settings: defaults, one line per bad value, what the operator and API get."""

from __future__ import annotations

import pytest

from apranova.local.tools.local_tools import LocalToolsSettings


def test_off_by_default() -> None:
    assert LocalToolsSettings.from_env({}) == LocalToolsSettings(False, 8090, "localtest.me")


def test_bad_values_give_one_line_each() -> None:
    with pytest.raises(SystemExit) as exit_info:
        LocalToolsSettings.from_env(
            {"LOCAL_TOOLS": "yes", "LOCAL_TOOLS_PORT": "0", "LOCAL_TOOLS_DOMAIN": "a/b"}
        )
    lines = str(exit_info.value).splitlines()
    assert [line.split("=")[0] for line in lines] == [
        "error: LOCAL_TOOLS",
        "error: LOCAL_TOOLS_PORT",
        "error: LOCAL_TOOLS_DOMAIN",
    ]


def test_operator_and_api_share_the_cookie_domain_and_the_proxy_port() -> None:
    settings = LocalToolsSettings.from_env({"LOCAL_TOOLS": "1", "LOCAL_TOOLS_PORT": "9000"})
    operator = settings.operator_env(8000)
    api = settings.api_env(8000)
    assert operator["BASE_DOMAIN"] == "students.localtest.me"
    assert (operator["TOOL_URL_SCHEME"], operator["TOOL_URL_PORT"]) == ("http", "9000")
    assert operator["TOOL_AUTH_URL"] == "http://127.0.0.1:8000/api/auth/tool-access"
    assert operator["TOOL_AUTH_SIGNIN_URL"] == "http://app.localtest.me:8000/login"
    assert api["SESSION_COOKIE_DOMAIN"] == ".localtest.me"
    assert api["PUBLIC_BASE_URL"] == "http://app.localtest.me:8000"
