"""Forward-auth for the tools' ingresses (``nginx.ingress.kubernetes.io/auth-url``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from apranova_api.accounts.tool_access import (
    ALLOWED,
    NO_SESSION,
    decide,
    login_url,
    requested_host,
    requested_url,
)
from apranova_api.deps import OptionalUser, ServicesDep

router = APIRouter()


@router.get("/api/auth/tool-access")
def tool_access(request: Request, services: ServicesDep, user: OptionalUser) -> JSONResponse:
    """Forward-auth for the tools' ingresses: only the owner of the tool host gets through."""
    host = requested_host(request.headers)
    owner = services.status_cache.owner_of_host(host) if host else None
    decision = decide(host, user.username if user else None, owner)
    if decision.status == ALLOWED and user is not None:
        identity = {"X-Auth-Request-User": user.username, "X-Auth-Request-Email": user.email}
        return JSONResponse({"detail": "ok"}, headers=identity)
    if decision.status == NO_SESSION:
        target = login_url(services.accounts.public_base_url, requested_url(request.headers))
        return JSONResponse(
            {"detail": decision.reason, "login_url": target},
            status_code=NO_SESSION,
            headers={"Location": target},
        )
    return JSONResponse({"detail": decision.reason}, status_code=decision.status)
