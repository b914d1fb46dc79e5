"""The local tools proxy obeys forward-auth as ingress-nginx does (real HTTP on 127.0.0.1).

An upstream that echoes what it received, an auth service that decides by cookie, and the proxy,
each served by uvicorn on a free port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from apranova.local.postgres import free_port
from apranova.local.tools.proxy import ForwardAuthProxy, Routes

HOST = "jupyter-ada.students.localtest.me"
SEEN: list[dict[str, str]] = []


async def _echo(request: Request) -> Response:
    return JSONResponse({"path": request.url.path, "headers": dict(request.headers)})


async def _auth(request: Request) -> Response:
    SEEN.append(dict(request.headers))
    session = request.cookies.get("apranova_session")
    if session == "owner":
        return JSONResponse({}, headers={"X-Auth-Request-User": "ada"})
    if session == "other":
        return JSONResponse({}, status_code=403)
    return JSONResponse({}, status_code=401)


def _serve(app) -> tuple[uvicorn.Server, int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, port


@pytest.fixture(scope="module")
def proxy_url() -> Iterator[str]:
    upstream, upstream_port = _serve(Starlette(routes=[Route("/{path:path}", _echo)]))
    auth, auth_port = _serve(Starlette(routes=[Route("/check", _auth)]))
    routes = Routes()
    routes.set(HOST, upstream_port)
    app = ForwardAuthProxy(routes, f"http://127.0.0.1:{auth_port}/check", "http://app/login")
    proxy, proxy_port = _serve(app)
    yield f"http://127.0.0.1:{proxy_port}"
    for server in (proxy, auth, upstream):
        server.should_exit = True


def _get(url: str, session: str | None, host: str = HOST) -> httpx.Response:
    cookies = {"apranova_session": session} if session else {}
    return httpx.get(f"{url}/lab/tree?x=1", headers={"Host": f"{host}:8090"}, cookies=cookies)


def test_the_owner_reaches_the_tool_with_the_auth_response_headers(proxy_url: str) -> None:
    answer = _get(proxy_url, "owner")
    assert answer.status_code == 200
    body = answer.json()
    assert body["path"] == "/lab/tree"
    assert body["headers"]["x-auth-request-user"] == "ada"
    assert body["headers"]["host"] == f"{HOST}:8090"
    asked = SEEN[-1]
    assert asked["x-original-url"] == f"http://{HOST}:8090/lab/tree?x=1"
    assert asked["x-original-method"] == "GET"


def test_no_session_is_sent_to_sign_in_with_the_original_url(proxy_url: str) -> None:
    answer = _get(proxy_url, None)
    assert answer.status_code == 302
    assert answer.headers["location"] == (
        "http://app/login?rd=http%3A%2F%2Fjupyter-ada.students.localtest.me%3A8090%2Flab%2Ftree%3Fx%3D1"
    )


def test_another_student_is_refused(proxy_url: str) -> None:
    assert _get(proxy_url, "other").status_code == 403


def test_an_unknown_host_is_not_found(proxy_url: str) -> None:
    assert _get(proxy_url, "owner", host="nobody.students.localtest.me").status_code == 404
