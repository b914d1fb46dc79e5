"""The API's one service container: the long-lived collaborators, built once per app.

Built by :func:`build_services` from the settings; the workers among them (status cache,
outbox) are started and stopped by :mod:`apranova_api.workers` in the app's lifespan. Routes
reach it through :data:`apranova_api.deps.ServicesDep`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from apranova_api.accounts.outbox import InviteLookup, InviteState, OutboxSender
from apranova_api.accounts.settings import AccountsSettings
from apranova_api.adapters.kube import Cluster, KubeCluster
from apranova_api.adapters.local_gateway import LocalGateway
from apranova_api.adapters.status_cache import StatusCache, custom_objects_api
from apranova_api.adapters.stripe_gateway import StripeGateway
from apranova_api.config import ApiSettings
from apranova_api.db import make_engine, make_session_factory
from apranova_api.payments.gateway import CheckoutGateway
from apranova_api.payments.worker import PaymentWorker
from apranova_api.settings import Settings


@dataclass
class Services:
    """Settings, database, payment gateway, cluster, webhook secret, status cache, outbox and
    the pool that runs payment work off the request threads."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    gateway: CheckoutGateway
    kube: Cluster
    webhook_secret: str
    accounts: AccountsSettings
    status_cache: StatusCache
    outbox: OutboxSender
    worker: PaymentWorker


def invite_lookup(status_cache: StatusCache) -> InviteLookup:
    """Enrollment name -> the Discord invite in that enrollment's status, from the cache."""

    def invite_of(name: str) -> InviteState:
        view = status_cache.get(name)
        if view is None:
            return InviteState(invite=None, pending=True)
        return InviteState(invite=view.discord_invite, pending=not view.integrations_settled)

    return invite_of


def build_services(config: ApiSettings, kube: Cluster | None = None) -> Services:
    """Everything the routes need; offline mode uses the local gateway and, unless
    ``STRIPE_WEBHOOK_SECRET`` is set, a secret generated for this process."""
    settings = config.payments
    engine = make_engine(settings.DATABASE_URL)
    sessions = make_session_factory(engine)
    gateway: CheckoutGateway
    if settings.STRIPE_SECRET_KEY is None:
        gateway = LocalGateway(sessions)
    else:
        gateway = StripeGateway(
            settings.STRIPE_SECRET_KEY.get_secret_value(),
            settings.STRIPE_API_BASE,
            timeout=settings.STRIPE_TIMEOUT_SECONDS,
            max_retries=settings.STRIPE_MAX_RETRIES,
        )
    webhook_secret = (
        settings.STRIPE_WEBHOOK_SECRET.get_secret_value()
        if settings.STRIPE_WEBHOOK_SECRET
        else "whsec_local_" + secrets.token_hex(24)
    )
    status_cache = StatusCache(custom_objects_api)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        gateway=gateway,
        kube=kube or KubeCluster(),
        webhook_secret=webhook_secret,
        accounts=config.accounts,
        status_cache=status_cache,
        outbox=OutboxSender(sessions, config.accounts, invite_of=invite_lookup(status_cache)),
        worker=PaymentWorker(settings.PAYMENT_WORKERS, settings.PAYMENT_WORKERS * 16),
    )
