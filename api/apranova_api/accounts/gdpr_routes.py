"""The student's data rights: export everything held about them, delete the account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import JSONResponse

from apranova_api.accounts.gdpr import delete_account, export_data
from apranova_api.accounts.route_helpers import audit, clear_session_cookie
from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.deps import CurrentUser, ServicesDep
from apranova_api.models import User
from apranova_api.services import Services
from apranova_contract.names import enrollment_name

router = APIRouter()


def _enrollment_object(services: Services, user: User) -> dict[str, Any] | None:
    view = services.status_cache.get(enrollment_name(user.username))
    if view is not None:
        return dict(view.raw)
    try:
        return services.kube.get_enrollment(enrollment_name(user.username))
    except KubeUnavailableError as error:
        raise HTTPException(503, "The cluster is unreachable; try the export again.") from error


@router.get("/api/accounts/export/")
def export(user: CurrentUser, services: ServicesDep) -> JSONResponse:
    """Everything held about the student, as JSON."""
    enrollment = _enrollment_object(services, user)
    with services.sessions() as session, session.begin():
        data = export_data(session, user, enrollment)
        audit(session, user.id, "account.exported", {})
    return JSONResponse(
        data,
        headers={"Content-Disposition": f'attachment; filename="apranova-{user.username}.json"'},
    )


def _delete_enrollment(services: Services, name: str) -> None:
    try:
        services.kube.delete_enrollment(name)
    except KubeUnavailableError as error:
        raise HTTPException(
            503, "The cluster is unreachable, nothing was deleted; try again."
        ) from error


@router.delete("/api/accounts/me/", status_code=204)
def delete_me(user: CurrentUser, services: ServicesDep) -> Response:
    """Delete the account and its enrollment; payments stay, anonymised.

    The enrollment goes first (the operator then removes the environment and the schema), so a
    cluster outage deletes nothing. It is deleted once more after the commit in case a repair
    pass re-created it in between.
    """
    name = enrollment_name(user.username)
    _delete_enrollment(services, name)
    with services.sessions() as session, session.begin():
        stored = session.get(User, user.id, with_for_update=True)
        if stored is not None:
            delete_account(session, stored)
            audit(session, None, "account.deleted", {"user_id": user.id})
    _delete_enrollment(services, name)
    response = Response(status_code=204)
    clear_session_cookie(response, services)
    return response
