"""What several account route modules share: the audit log and the session cookie."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from sqlalchemy.orm import Session

from apranova_api.accounts.clock import utc_now
from apranova_api.models import AuditLog
from apranova_api.services import Services


def audit(session: Session, user_id: int | None, action: str, details: dict[str, Any]) -> None:
    """Add an audit-log entry to the current transaction."""
    session.add(AuditLog(user_id=user_id, action=action, details=details, created_at=utc_now()))


def clear_session_cookie(response: Response, services: Services) -> None:
    """Remove the session cookie (same attributes it was set with) from ``response``."""
    settings = services.accounts
    response.delete_cookie(
        settings.session_cookie_name,
        path="/",
        domain=settings.session_cookie_domain,
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="lax",
    )
