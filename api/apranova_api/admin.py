"""``apranova admin``: what support can see and do, on the API's database and the cluster.

Subcommands (each talks to ``DATABASE_URL`` and the cluster ``KUBECONFIG`` names, as the API):

- ``show EMAIL``: the student's enrollments and purchases;
- ``suspend EMAIL TRACK --reason TEXT`` / ``resume EMAIL TRACK --reason TEXT``: support's
  suspension of one enrollment (tools scaled to zero, data kept); ``resume`` lifts only support's
  suspension, never one that a refund or dispute imposes;
- ``audit EMAIL``: the student's audit log, oldest first.

``--json`` prints JSON instead of text. Every suspend and resume writes an audit row with the
reason and who ran it. Bad input (unknown email or track, a missing reason, bad settings) prints
one line and exits with status 2. A cluster that cannot be reached after the database change
exits with status 1 and says so; the API's repair loop applies the change when it can.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.adapters.kube import KubeUnavailableError
from apranova_api.models import AuditLog, Enrollment, Payment, User
from apranova_api.payments import purchases
from apranova_api.payments.fulfil import sync_enrollment
from apranova_api.payments.purchase_store import refresh_enrollment
from apranova_api.payments.transactions import run_in_transaction
from apranova_api.services import Services

BAD_INPUT = 2
CLUSTER_UNAVAILABLE = 1
REASON_MAX = 200


class AdminError(Exception):
    """Bad input: one line for the operator of the command (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"apranova admin: {message}", file=sys.stderr)
        raise SystemExit(BAD_INPUT)


@dataclass(frozen=True)
class Outcome:
    """What a subcommand prints (``data`` as JSON with ``--json``, else ``text``) and its status."""

    data: Any
    text: str
    status: int = 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``apranova admin``."""
    parser = _Parser(prog="apranova admin", description="Support's view of purchases.")
    parser.add_argument("--json", action="store_true", help="print JSON")
    actions = parser.add_subparsers(dest="action", required=True, parser_class=_Parser)
    show = actions.add_parser("show", help="a student's enrollments and purchases")
    show.add_argument("email")
    audit = actions.add_parser("audit", help="a student's audit log")
    audit.add_argument("email")
    for name, text in (("suspend", "suspend one enrollment"), ("resume", "lift a suspension")):
        action = actions.add_parser(name, help=text)
        action.add_argument("email")
        action.add_argument("track")
        action.add_argument("--reason", required=True, help="why (kept in the audit log)")
    return parser


def _student(db: Session, email: str) -> User:
    user = db.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise AdminError(f"no student with email {email!r}")
    return user


def _enrollment(db: Session, user: User, track: str) -> Enrollment:
    wanted = track.strip().upper()
    found = db.scalars(
        select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.track == wanted)
    ).first()
    if found is None:
        held = ", ".join(e.track for e in user.enrollments) or "none"
        raise AdminError(f"{user.email} holds no {track!r} enrollment (holds: {held})")
    return found


def _reason(text: str) -> str:
    reason = " ".join(text.split())
    if not reason:
        raise AdminError("--reason must not be empty")
    if len(reason) > REASON_MAX:
        raise AdminError(f"--reason is longer than {REASON_MAX} characters")
    return reason


def student_report(db: Session, user: User) -> dict[str, Any]:
    """The student, every enrollment and every purchase, as plain data."""
    enrollments = [
        {
            "enrollment": e.name,
            "track": e.track,
            "state": e.state,
            "suspension_reason": e.suspension_reason,
            "support_suspension": e.admin_suspension_reason,
        }
        for e in user.enrollments
    ]
    names = {e.id: e.name for e in user.enrollments}
    payments = [
        {
            "created_at": p.created_at.isoformat(),
            "checkout_session_id": p.checkout_session_id,
            "payment_intent_id": p.payment_intent_id,
            "track": p.track,
            "amount": p.amount,
            "currency": p.currency,
            "status": p.status,
            "grant": p.grant,
            "enrollment": names.get(p.enrollment_id or -1),
            "refund_id": p.refund_id,
        }
        for p in db.scalars(select(Payment).where(Payment.user_id == user.id).order_by(Payment.id))
    ]
    return {
        "email": user.email,
        "username": user.username,
        "id": user.id,
        "has_password": user.password_hash is not None,
        "enrollments": enrollments,
        "purchases": payments,
    }


def report_text(report: dict[str, Any]) -> str:
    """The report of :func:`student_report` as aligned text (pure)."""
    lines = [
        f"{report['email']}  username {report['username']}  id {report['id']}  "
        f"password {'set' if report['has_password'] else 'not set'}",
        "enrollments:",
    ]
    for e in report["enrollments"]:
        why = f"  ({e['suspension_reason']})" if e["suspension_reason"] else ""
        lines.append(f"  {e['enrollment']:<30} {e['track']:<6} {e['state']}{why}")
    lines.append("purchases:")
    for p in report["purchases"]:
        refund = f"  refund {p['refund_id']}" if p["refund_id"] else ""
        lines.append(
            f"  {p['created_at'][:19]}  {p['track'] or '?':<6} "
            f"{p['amount'] / 100:>9.2f} {p['currency'].upper()}  {p['status']:<18} "
            f"{p['grant']:<9} {p['enrollment'] or '-'}  {p['checkout_session_id']}{refund}"
        )
    return "\n".join(lines)


def _show(services: Services, args: argparse.Namespace) -> Outcome:
    with services.sessions() as db:
        report = student_report(db, _student(db, args.email))
    return Outcome(report, report_text(report))


def _audit(services: Services, args: argparse.Namespace) -> Outcome:
    with services.sessions() as db:
        user = _student(db, args.email)
        rows: list[dict[str, Any]] = [
            {"at": row.created_at.isoformat(), "action": row.action, "details": row.details}
            for row in db.scalars(
                select(AuditLog).where(AuditLog.user_id == user.id).order_by(AuditLog.id)
            )
        ]
    text = "\n".join(
        f"{r['at'][:19]}  {r['action']:<28} {json.dumps(r['details'], sort_keys=True)}"
        for r in rows
    )
    return Outcome(rows, text)


def _set_support_suspension(
    db: Session, args: argparse.Namespace, reason: str, actor: str
) -> tuple[int, purchases.EnrollmentStanding, str]:
    user = _student(db, args.email)
    enrollment = _enrollment(db, user, args.track)
    enrollment.admin_suspension_reason = (
        f"suspended by support: {reason}" if args.action == "suspend" else None
    )
    db.add(
        AuditLog(
            user_id=user.id,
            action=f"admin_{args.action}",
            details={"enrollment": enrollment.name, "reason": reason, "by": actor},
        )
    )
    standing = refresh_enrollment(db, enrollment)
    return enrollment.id, standing, enrollment.name


def _suspend_or_resume(services: Services, args: argparse.Namespace) -> Outcome:
    reason = _reason(args.reason)
    actor = getpass.getuser()
    enrollment_id, standing, name = run_in_transaction(
        services.sessions, lambda db: _set_support_suspension(db, args, reason, actor)
    )
    data = {"enrollment": name, "state": standing.state, "reason": standing.reason}
    text = f"{name}: {standing.state}" + (f" ({standing.reason})" if standing.reason else "")
    status = 0
    if args.action == "resume" and standing.suspended:
        text += "; a payment state keeps it suspended (resume lifts only support's suspension)"
        status = CLUSTER_UNAVAILABLE
    try:
        sync_enrollment(services, enrollment_id)
    except KubeUnavailableError as error:
        text += f"; cluster unreachable ({error}): the API's repair loop applies it later"
        status = CLUSTER_UNAVAILABLE
    return Outcome({**data, "synced": status == 0}, text, status)


COMMANDS: dict[str, Callable[[Services, argparse.Namespace], Outcome]] = {
    "show": _show,
    "audit": _audit,
    "suspend": _suspend_or_resume,
    "resume": _suspend_or_resume,
}


def run(argv: Sequence[str], services: Callable[[], Services]) -> int:
    """Parse ``argv``, run the subcommand on ``services()`` and print; returns the exit status."""
    args = build_parser().parse_args(list(argv))
    try:
        outcome = COMMANDS[args.action](services(), args)
    except AdminError as error:
        print(f"apranova admin: {error}", file=sys.stderr)
        return BAD_INPUT
    print(json.dumps(outcome.data, indent=2, sort_keys=True) if args.json else outcome.text)
    return outcome.status


def run_admin(argv: Sequence[str]) -> int:
    """Entry point of ``apranova admin``: settings from the environment, as ``apranova api``."""
    from apranova.settings_errors import SettingsError
    from apranova_api.config import load_api_settings
    from apranova_api.services import build_services

    try:
        settings = load_api_settings()
    except SettingsError as error:
        print(f"apranova admin: {error.problems[0]}", file=sys.stderr)
        return BAD_INPUT
    return run(argv, lambda: build_services(settings))
