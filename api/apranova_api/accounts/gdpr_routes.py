"""The student's data rights: export everything held about them, delete the account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import JSONResponse

from apranova_api.accounts.enrollments import held_tracks
from apranova_api.accounts.gdpr import delete_account, export_data
from apranova_api.accounts.route_helpers import audit, clear_session_cookie
from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.deps import CurrentUser, ServicesDep
from apranova_api.models import User
from apranova_api.services import Services

router = APIRouter()


def _enrollment_objects(services: Services, user: User) -> list[dict[str, Any]]:
    objects = []
    for held in held_tracks(services.sessions, user.id):
        view = services.status_cache.get(held.name)
        try:
            found = dict(view.raw) if view else services.kube.get_enrollment(held.name)
        except KubeUnavailableError as error:
            raise HTTPException(503, "The cluster is unreachable; try the export again.") from error
        if found is not None:
            objects.append(found)
    return objects


@router.get("/api/accounts/export/")
def export(user: CurrentUser, services: ServicesDep) -> JSONResponse:
    """Everything held about the student, as JSON."""
    enrollments = _enrollment_objects(services, user)
    with services.sessions() as session, session.begin():
        data = export_data(session, user, enrollments)
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
    """Delete the account and its enrollments; payments stay, anonymised.

    The enrollments go first (the operator then removes each environment and schema), so a
    cluster outage deletes nothing. They are deleted once more after the commit in case a repair
    pass re-created one in between.
    """
    names = [held.name for held in held_tracks(services.sessions, user.id)]
    for name in names:
        _delete_enrollment(services, name)
    with services.sessions() as session, session.begin():
        stored = session.get(User, user.id, with_for_update=True)
        if stored is not None:
            delete_account(session, stored)
            audit(session, None, "account.deleted", {"user_id": user.id})
    for name in names:
        _delete_enrollment(services, name)
    response = Response(status_code=204)
    clear_session_cookie(response, services)
    return response
