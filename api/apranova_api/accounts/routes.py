"""HTTP routes of student accounts: login, logout, setting and resetting passwords.

The other concerns have their own modules beside this one: ``profile_routes`` (who am I, my
tools), ``progress_routes``, ``gdpr_routes`` (export, delete) and ``forward_auth_routes``.

Handlers are synchronous (FastAPI runs them in its thread pool) and keep one transaction each;
decisions come from the pure modules beside this one.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import select

from apranova_api.accounts.clock import utc_now
from apranova_api.accounts.lockout import lift_lockout, lockout_message, seconds_locked
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
from apranova_api.accounts.reset_requests import queue_password_reset
from apranova_api.accounts.route_helpers import audit, clear_session_cookie
from apranova_api.accounts.sessions import (
    create_session,
    end_all_sessions,
    end_session,
    forget_expired_sessions,
)
from apranova_api.accounts.throttle import (
    account_key,
    clear_account_failures,
    forget_old_failures,
    record_failure,
)
from apranova_api.deps import ServicesDep, token_of
from apranova_api.models import User
from apranova_api.services import Services

RESET_ANSWER = "If an account exists for this email, a link to set a password is on its way."
WRONG_CREDENTIALS = "That email and password do not match an account."

router = APIRouter()


def client_key(request: Request, services: Services) -> str:
    """The client's address; behind a trusted proxy, the address that proxy saw."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if services.accounts.trust_forwarded_for and forwarded.strip():
        return forwarded.split(",")[-1].strip()[:64]
    return (request.client.host if request.client else "unknown")[:64]


class SetPasswordIn(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=1000)


class EmailIn(BaseModel):
    email: EmailStr


class LoginIn(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(max_length=1000)


@router.post("/api/accounts/set-password/")
def set_password(body: SetPasswordIn, services: ServicesDep) -> dict[str, str]:
    """Set the password with a one-time link token; also logs the user out everywhere else."""
    now = utc_now()
    with services.sessions() as session, session.begin():
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
        lift_lockout(session, user.email)
        audit(session, user.id, "account.password_set", {})
        return {"detail": "Your password is set. You can log in now.", "email": user.email}


@router.post("/api/accounts/password-reset/", status_code=202)
def password_reset(body: EmailIn, services: ServicesDep) -> dict[str, str]:
    """Email a new set-password link when the account exists; the answer is always the same."""
    now = utc_now()
    with services.sessions() as session, session.begin():
        user = session.scalars(select(User).where(User.email == account_key(body.email))).first()
        if user is not None and user.is_active:
            queue_password_reset(session, user, now)
    return {"detail": RESET_ANSWER}


@router.post("/api/accounts/login/")
def login(body: LoginIn, request: Request, services: ServicesDep) -> JSONResponse:
    """Check the password; answer an access token and set the session cookie."""
    settings = services.accounts
    now = utc_now()
    window = timedelta(seconds=settings.login_failure_window_seconds)
    account = account_key(body.email)
    client = client_key(request, services)
    token: str | None = None
    with services.sessions() as session, session.begin():
        forget_old_failures(session, now - window)
        forget_expired_sessions(session, now)
        wait = seconds_locked(session, account, client, now, settings)
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
            lockout_message(wait),
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


@router.post("/api/accounts/logout/", status_code=204)
def logout(request: Request, services: ServicesDep) -> Response:
    """End this session and clear the cookie."""
    token = token_of(request, services)
    if token is not None:
        with services.sessions() as session, session.begin():
            end_session(session, token)
    response = Response(status_code=204)
    clear_session_cookie(response, services)
    return response
