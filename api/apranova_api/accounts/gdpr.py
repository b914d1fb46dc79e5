"""GDPR: everything held about a student, and deleting the account while keeping accounting.

Payments stay for the books, without the link to the person (``user_id`` and ``email`` are
cleared); the student's audit entries lose their personal fields. Everything else that belongs
to the account is deleted with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, inspect, select, update
from sqlalchemy.orm import Session

from apranova_api.accounts.models import AccountSession, LoginFailure, OutboxMessage, PasswordToken
from apranova_api.accounts.throttle import account_key, clear_account_failures
from apranova_api.models import (
    AuditLog,
    Enrollment,
    LocalCheckoutSession,
    Payment,
    StudentProgress,
    User,
)

PERSONAL_FIELDS = frozenset({"email", "name", "username", "customer_email", "customer_name"})
SECRET_COLUMNS = frozenset({"password_hash", "token_hash"})


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def row_dict(row: Any) -> dict[str, Any]:
    """A mapped row as JSON-ready data, without secret columns."""
    return {
        column.key: _plain(getattr(row, column.key))
        for column in inspect(row).mapper.column_attrs
        if column.key not in SECRET_COLUMNS
    }


def without_personal_fields(details: Mapping[str, Any]) -> dict[str, Any]:
    """Audit details with the personal fields removed (pure)."""
    return {key: value for key, value in details.items() if key not in PERSONAL_FIELDS}


def export_data(
    session: Session, user: User, enrollments: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Everything held about ``user``, as JSON-ready data.

    ``enrollment`` is the first StudentEnrollment object (as before several tracks existed),
    ``enrollments`` every one; ``enrollment_rows`` the database's enrollment rows.
    """

    def rows(model: Any, *where: Any) -> list[dict[str, Any]]:
        return [row_dict(row) for row in session.scalars(select(model).where(*where))]

    account = row_dict(user)
    account["has_password"] = user.password_hash is not None
    return {
        "account": account,
        "payments": rows(Payment, Payment.user_id == user.id),
        "progress": rows(StudentProgress, StudentProgress.user_id == user.id),
        "audit_log": rows(AuditLog, AuditLog.user_id == user.id),
        "sessions": rows(AccountSession, AccountSession.user_id == user.id),
        "password_links": rows(PasswordToken, PasswordToken.user_id == user.id),
        "emails": rows(OutboxMessage, OutboxMessage.user_id == user.id),
        "failed_logins": rows(LoginFailure, LoginFailure.account_key == account_key(user.email)),
        "checkout_sessions": rows(
            LocalCheckoutSession, LocalCheckoutSession.customer_email == user.email
        ),
        "enrollment": dict(enrollments[0]) if enrollments else None,
        "enrollments": [dict(enrollment) for enrollment in enrollments],
        "enrollment_rows": rows(Enrollment, Enrollment.user_id == user.id),
    }


def delete_account(session: Session, user: User) -> None:
    """Delete ``user`` and what belongs to it; anonymise what accounting keeps."""
    session.execute(
        update(Payment)
        .where(Payment.user_id == user.id)
        .values(user_id=None, email=None, enrollment_id=None)
    )
    session.execute(delete(Enrollment).where(Enrollment.user_id == user.id))
    session.execute(
        update(LocalCheckoutSession)
        .where(LocalCheckoutSession.customer_email == user.email)
        .values(customer_email=None, customer_name=None)
    )
    for entry in session.scalars(select(AuditLog).where(AuditLog.user_id == user.id)):
        entry.details = without_personal_fields(entry.details or {})
        entry.user_id = None
    clear_account_failures(session, account_key(user.email))
    session.delete(user)
