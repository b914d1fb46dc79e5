"""HTTP routes of student accounts: login and passwords, status, progress, GDPR, forward-auth.

Handlers are synchronous (FastAPI runs them in its thread pool) and keep one transaction each;
decisions come from the pure modules beside this one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.accounts.clock import utc_now
from apranova_api.accounts.enrollments import first_enrollment_name, held_tracks, track_summary
from apranova_api.accounts.gdpr import delete_account, export_data
from apranova_api.accounts.models import OutboxMessage
from apranova_api.accounts.password_tokens import (
    TokenRefusal,
    check_password_token,
    consume_password_token,
)
from apranova_api.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from apranova_api.accounts.progress import (
    curriculum_view,
    project_of_step,
    steps_unlocked_by_completing,
)
from apranova_api.accounts.runtime import AccountsRuntime
from apranova_api.accounts.sessions import (
    create_session,
    end_all_sessions,
    end_session,
    forget_expired_sessions,
    user_of_token,
)
from apranova_api.accounts.throttle import (
    account_key,
    clear_account_failures,
    failures_of_account,
    failures_of_client,
    forget_old_failures,
    record_failure,
    retry_after_seconds,
)
from apranova_api.accounts.tool_access import (
    ALLOWED,
    NO_SESSION,
    decide,
    login_url,
    requested_host,
    requested_url,
)
from apranova_api.accounts.welcome import PASSWORD_RESET, enqueue_email
from apranova_api.curriculum import load_curriculum
from apranova_api.kube import KubeUnavailableError
from apranova_api.models import (
    PROGRESS_DONE,
    PROGRESS_LOCKED,
    PROGRESS_UNLOCKED,
    AuditLog,
    StudentProgress,
    User,
)
from apranova_api.status_cache import EnrollmentView

RESET_EMAIL_INTERVAL = timedelta(minutes=1)
RESET_ANSWER = "If an account exists for this email, a link to set a password is on its way."
WRONG_CREDENTIALS = "That email and password do not match an account."

router = APIRouter()


def runtime_of(request: Request) -> AccountsRuntime:
    """The accounts runtime the app's lifespan started."""
    return request.app.state.accounts


Runtime = Annotated[AccountsRuntime, Depends(runtime_of)]


def token_of(request: Request, runtime: AccountsRuntime) -> str | None:
    """The access token from ``Authorization: Bearer`` or the session cookie."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.cookies.get(runtime.settings.session_cookie_name) or None


def optional_user(request: Request, runtime: Runtime) -> User | None:
    """The logged-in user, or None."""
    token = token_of(request, runtime)
    if token is None:
        return None
    with runtime.sessions() as session:
        return user_of_token(session, token, utc_now())


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The logged-in user; 401 otherwise."""
    if user is None:
        raise HTTPException(
            401, "Log in first: no valid session.", headers={"WWW-Authenticate": "Bearer"}
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def client_key(request: Request, runtime: AccountsRuntime) -> str:
    """The client's address; behind a trusted proxy, the address that proxy saw."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if runtime.settings.trust_forwarded_for and forwarded.strip():
        return forwarded.split(",")[-1].strip()[:64]
    return (request.client.host if request.client else "unknown")[:64]


def audit(session: Session, user_id: int | None, action: str, details: dict[str, Any]) -> None:
    """Add an audit-log entry to the current transaction."""
    session.add(AuditLog(user_id=user_id, action=action, details=details, created_at=utc_now()))


def enrollment_of(runtime: AccountsRuntime, user: User) -> EnrollmentView | None:
    """The student's first enrollment from the status cache; 503 until the cache has synced."""
    if not runtime.status_cache.synced:
        raise HTTPException(503, "Environment status is not available yet; retry in a few seconds.")
    name = first_enrollment_name(runtime.sessions, user.id)
    return runtime.status_cache.get(name) if name else None


def tracks_of(runtime: AccountsRuntime, user: User) -> list[dict[str, Any]]:
    """Every track the student holds, oldest first, with its environment's status."""
    return [
        track_summary(held, runtime.status_cache.get(held.name))
        for held in held_tracks(runtime.sessions, user.id)
    ]


class SetPasswordIn(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=1000)


class EmailIn(BaseModel):
    email: EmailStr


class LoginIn(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(max_length=1000)


@router.post("/api/accounts/set-password/")
def set_password(body: SetPasswordIn, runtime: Runtime) -> dict[str, str]:
    """Set the password with a one-time link token; also logs the user out everywhere else."""
    now = utc_now()
    with runtime.sessions() as session, session.begin():
        check = check_password_token(session, body.token, now)
        user = session.get(User, check.user_id) if check.user_id is not None else None
        if check.refusal is not None or user is None or not user.is_active:
            refusal = check.refusal or TokenRefusal.UNKNOWN
            raise HTTPException(400 if refusal is TokenRefusal.UNKNOWN else 410, refusal.value)
        problems = password_problems(body.password, user.email)
        if problems:
            raise HTTPException(
                422,
                [
                    {"loc": ["body", "password"], "msg": problem, "type": "password_policy"}
                    for problem in problems
                ],
            )
        consumed = consume_password_token(session, body.token, now)
        if consumed.refusal is not None:
            raise HTTPException(410, consumed.refusal.value)
        user.password_hash = hash_password(body.password)
        end_all_sessions(session, user.id)
        audit(session, user.id, "account.password_set", {})
        return {"detail": "Your password is set. You can log in now.", "email": user.email}


@router.post("/api/accounts/password-reset/", status_code=202)
def password_reset(body: EmailIn, runtime: Runtime) -> dict[str, str]:
    """Email a new set-password link when the account exists; the answer is always the same."""
    now = utc_now()
    with runtime.sessions() as session, session.begin():
        user = session.scalars(select(User).where(User.email == account_key(body.email))).first()
        if user is not None and user.is_active:
            recent = session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.user_id == user.id,
                    OutboxMessage.kind == PASSWORD_RESET,
                    OutboxMessage.created_at > now - RESET_EMAIL_INTERVAL,
                )
            ).first()
            if recent is None:
                enqueue_email(session, user, PASSWORD_RESET)
    return {
        "detail": "If an account exists for this email, a link to set a password is on its way."
    }


@router.post("/api/accounts/login/")
def login(body: LoginIn, request: Request, runtime: Runtime) -> JSONResponse:
    """Check the password; answer an access token and set the session cookie."""
    settings = runtime.settings
    now = utc_now()
    window = timedelta(seconds=settings.login_failure_window_seconds)
    account = account_key(body.email)
    client = client_key(request, runtime)
    token: str | None = None
    with runtime.sessions() as session, session.begin():
        forget_old_failures(session, now - window)
        forget_expired_sessions(session, now)
        wait = max(
            retry_after_seconds(
                failures_of_account(session, account, now - window),
                now,
                settings.login_max_failures_per_account,
                window,
            )
            or 0,
            retry_after_seconds(
                failures_of_client(session, client, now - window),
                now,
                settings.login_max_failures_per_client,
                window,
            )
            or 0,
        )
        if wait == 0:
            user = session.scalars(select(User).where(User.email == account)).first()
            usable = user is not None and user.is_active
            password_hash = user.password_hash if user is not None and usable else None
            if user is not None and verify_password(password_hash, body.password):
                clear_account_failures(session, account)
                if password_hash is not None and needs_rehash(password_hash):
                    user.password_hash = hash_password(body.password)
                token = create_session(
                    session,
                    user_id=user.id,
                    ttl=timedelta(seconds=settings.session_ttl_seconds),
                    now=now,
                )
            else:
                record_failure(session, account=account, client=client, now=now)
    if wait:
        raise HTTPException(
            429,
            f"Too many failed attempts. Try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
    if token is None:
        raise HTTPException(401, WRONG_CREDENTIALS)
    response = JSONResponse(
        {"access_token": token, "token_type": "bearer", "expires_in": settings.session_ttl_seconds}
    )
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
        domain=settings.session_cookie_domain,
        path="/",
    )
    return response


def _clear_cookie(response: Response, runtime: AccountsRuntime) -> None:
    settings = runtime.settings
    response.delete_cookie(
        settings.session_cookie_name,
        path="/",
        domain=settings.session_cookie_domain,
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="lax",
    )


@router.post("/api/accounts/logout/", status_code=204)
def logout(request: Request, runtime: Runtime) -> Response:
    """End this session and clear the cookie."""
    token = token_of(request, runtime)
    if token is not None:
        with runtime.sessions() as session, session.begin():
            end_session(session, token)
    response = Response(status_code=204)
    _clear_cookie(response, runtime)
    return response


@router.get("/api/accounts/me/")
def me(user: CurrentUser, runtime: Runtime) -> dict[str, Any]:
    """The logged-in student and every track held (``enrollments``); the top-level ``track``,
    ``enrollment_status`` and ``phase`` describe the first one, as for one-track clients."""
    name = first_enrollment_name(runtime.sessions, user.id)
    view = runtime.status_cache.get(name) if name else None
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "username": user.username,
        "role": user.role,
        "track": user.track,
        "track_name": load_curriculum(user.track).title,
        "enrollment_status": user.enrollment_status,
        "payment_verified": user.payment_verified,
        "phase": view.phase if view else None,
        "enrollments": tracks_of(runtime, user),
    }


@router.get("/api/accounts/tools/")
def tools(user: CurrentUser, runtime: Runtime) -> dict[str, Any]:
    """Each tool's name, URL and readiness, and the Discord invite, from the status cache:
    top level for the first track (one-track clients), ``enrollments`` for every track."""
    view = enrollment_of(runtime, user)
    tracks = tracks_of(runtime, user)
    if view is None:
        return {"phase": None, "tools": [], "discord_invite": None, "enrollments": tracks}
    return {
        "phase": view.phase,
        "tools": [
            {"name": t.name, "url": t.url, "ready": t.ready, "message": t.message}
            for t in view.tools
        ],
        "discord_invite": view.discord_invite,
        "enrollments": tracks,
    }


def _progress_states(
    session: Session, user_id: int, lock: bool = False
) -> dict[str, StudentProgress]:
    query = select(StudentProgress).where(StudentProgress.user_id == user_id)
    if lock:
        query = query.with_for_update()
    return {row.step_id: row for row in session.scalars(query)}


@router.get("/api/curriculum/")
def curriculum(user: CurrentUser, runtime: Runtime, track: str | None = None) -> dict[str, Any]:
    """A track's projects and steps, each locked, unlocked or done: ``?track=`` one the student
    holds (404 otherwise), by default the first."""
    held = [h.track for h in held_tracks(runtime.sessions, user.id)] or [user.track]
    wanted = track.upper() if track else held[0]
    if wanted not in held:
        raise HTTPException(404, f"You do not hold the track {track!r}.")
    with runtime.sessions() as session:
        rows = _progress_states(session, user.id)
    return curriculum_view(
        load_curriculum(wanted), {step: row.status for step, row in rows.items()}
    )


@router.post("/api/progress/steps/{step_id}/complete")
def complete_step(step_id: str, user: CurrentUser, runtime: Runtime) -> dict[str, Any]:
    """Mark an unlocked step done; finishing a project unlocks the next one."""
    plans = [load_curriculum(h.track) for h in held_tracks(runtime.sessions, user.id)]
    plan = next((p for p in plans if project_of_step(p, step_id) is not None), None)
    if plan is None:
        raise HTTPException(404, f"Your tracks have no step {step_id!r}.")
    now = utc_now()
    with runtime.sessions() as session, session.begin():
        rows = _progress_states(session, user.id, lock=True)
        states = {step: row.status for step, row in rows.items()}
        state = states.get(step_id, PROGRESS_LOCKED)
        if state == PROGRESS_LOCKED:
            raise HTTPException(409, "This step is locked: finish the previous project first.")
        if state == PROGRESS_DONE:
            return {"step_id": step_id, "status": PROGRESS_DONE, "unlocked": []}
        unlocked = steps_unlocked_by_completing(plan, states, step_id)
        rows[step_id].status = PROGRESS_DONE
        rows[step_id].completed_at = now
        for next_step in unlocked:
            if next_step in rows:
                rows[next_step].status = PROGRESS_UNLOCKED
            else:
                session.add(
                    StudentProgress(user_id=user.id, step_id=next_step, status=PROGRESS_UNLOCKED)
                )
        return {"step_id": step_id, "status": PROGRESS_DONE, "unlocked": unlocked}


def _enrollment_objects(runtime: AccountsRuntime, user: User) -> list[dict[str, Any]]:
    objects = []
    for held in held_tracks(runtime.sessions, user.id):
        view = runtime.status_cache.get(held.name)
        try:
            found = dict(view.raw) if view else runtime.kube.get_enrollment(held.name)
        except KubeUnavailableError as error:
            raise HTTPException(503, "The cluster is unreachable; try the export again.") from error
        if found is not None:
            objects.append(found)
    return objects


@router.get("/api/accounts/export/")
def export(user: CurrentUser, runtime: Runtime) -> JSONResponse:
    """Everything held about the student, as JSON."""
    enrollments = _enrollment_objects(runtime, user)
    with runtime.sessions() as session, session.begin():
        data = export_data(session, user, enrollments)
        audit(session, user.id, "account.exported", {})
    return JSONResponse(
        data,
        headers={"Content-Disposition": f'attachment; filename="apranova-{user.username}.json"'},
    )


def _delete_enrollment(runtime: AccountsRuntime, name: str) -> None:
    try:
        runtime.kube.delete_enrollment(name)
    except KubeUnavailableError as error:
        raise HTTPException(
            503, "The cluster is unreachable, nothing was deleted; try again."
        ) from error


@router.delete("/api/accounts/me/", status_code=204)
def delete_me(user: CurrentUser, runtime: Runtime) -> Response:
    """Delete the account and its enrollments; payments stay, anonymised.

    The enrollments go first (the operator then removes each environment and schema), so a
    cluster outage deletes nothing. They are deleted once more after the commit in case a repair
    pass re-created one in between.
    """
    names = [held.name for held in held_tracks(runtime.sessions, user.id)]
    for name in names:
        _delete_enrollment(runtime, name)
    with runtime.sessions() as session, session.begin():
        stored = session.get(User, user.id, with_for_update=True)
        if stored is not None:
            delete_account(session, stored)
            audit(session, None, "account.deleted", {"user_id": user.id})
    for name in names:
        _delete_enrollment(runtime, name)
    response = Response(status_code=204)
    _clear_cookie(response, runtime)
    return response


@router.get("/api/auth/tool-access")
def tool_access(
    request: Request, runtime: Runtime, user: Annotated[User | None, Depends(optional_user)]
) -> JSONResponse:
    """Forward-auth for the tools' ingresses: only the owner of the tool host gets through."""
    host = requested_host(request.headers)
    owner = runtime.status_cache.owner_of_host(host) if host else None
    decision = decide(host, user.username if user else None, owner)
    if decision.status == ALLOWED and user is not None:
        identity = {"X-Auth-Request-User": user.username, "X-Auth-Request-Email": user.email}
        return JSONResponse({"detail": "ok"}, headers=identity)
    if decision.status == NO_SESSION:
        target = login_url(runtime.settings.public_base_url, requested_url(request.headers))
        return JSONResponse(
            {"detail": decision.reason, "login_url": target},
            status_code=NO_SESSION,
            headers={"Location": target},
        )
    return JSONResponse({"detail": decision.reason}, status_code=decision.status)
