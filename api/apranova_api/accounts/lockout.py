"""Login lockout policy: fair to the student, costly for someone guessing passwords.

Failed logins count per *account and client address* together, and per client address alone
(every account it tried). So a stranger who types a student's email with wrong passwords locks
out only their own address for that account, never the student on another network; and one
address cannot try many accounts. This follows the OWASP Authentication Cheat Sheet ("Account
Lockout": lock on the combination, so the lockout cannot be used to deny service). A password
set through an emailed link clears the account's failures (:func:`lift_lockout`), and the
message points to that way out.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from apranova_api.accounts.models import LoginFailure
from apranova_api.accounts.settings import AccountsSettings
from apranova_api.accounts.throttle import (
    account_key,
    clear_account_failures,
    failures_of_client,
    retry_after_seconds,
)


def failures_of_account_from_client(
    session: Session, account: str, client: str, since: datetime
) -> list[datetime]:
    """Times of failed logins to ``account`` from ``client`` since ``since``."""
    query = select(LoginFailure.failed_at).where(
        LoginFailure.account_key == account,
        LoginFailure.client_key == client,
        LoginFailure.failed_at > since,
    )
    return list(session.scalars(query))


def seconds_locked(
    session: Session, account: str, client: str, now: datetime, settings: AccountsSettings
) -> int:
    """Seconds ``client`` must wait before trying ``account`` again; 0 when it may try now."""
    window = timedelta(seconds=settings.login_failure_window_seconds)
    since = now - window
    return max(
        retry_after_seconds(
            failures_of_account_from_client(session, account, client, since),
            now,
            settings.login_max_failures_per_account,
            window,
        )
        or 0,
        retry_after_seconds(
            failures_of_client(session, client, since),
            now,
            settings.login_max_failures_per_client,
            window,
        )
        or 0,
    )


def lockout_message(wait_seconds: int) -> str:
    """What a locked-out student reads: how long, and the way out (pure).

    Up to two minutes in seconds, beyond that in whole minutes (rounded up).
    """
    if wait_seconds <= 120:
        how_long = f"{wait_seconds} seconds"
    else:
        how_long = f"{math.ceil(wait_seconds / 60)} minutes"
    return (
        f"Too many failed attempts from this device. Try again in {how_long}, "
        "or use \u201cForgot your password?\u201d to get a link and set a new password."
    )


def lift_lockout(session: Session, email: str) -> None:
    """Forget every failed login of the account (a new password was set through a link)."""
    clear_account_failures(session, account_key(email))
