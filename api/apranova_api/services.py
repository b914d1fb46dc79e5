"""The long-lived collaborators of the API, built once per app from the settings."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from apranova_api.db import make_engine, make_session_factory
from apranova_api.kube import Cluster, Kube
from apranova_api.payments.gateway import CheckoutGateway
from apranova_api.payments.local_gateway import LocalGateway
from apranova_api.payments.stripe_gateway import StripeGateway
from apranova_api.payments.worker import PaymentWorker
from apranova_api.settings import Settings


@dataclass
class Services:
    """Settings, database, payment gateway, cluster, the webhook secret in use and the pool
    that runs payment work off the request threads."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    gateway: CheckoutGateway
    kube: Cluster
    webhook_secret: str
    worker: PaymentWorker


def build_services(settings: Settings, kube: Cluster | None = None) -> Services:
    """Everything the routes need; offline mode uses the local gateway and, unless
    ``STRIPE_WEBHOOK_SECRET`` is set, a secret generated for this process."""
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
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        gateway=gateway,
        kube=kube or Kube(),
        webhook_secret=webhook_secret,
        worker=PaymentWorker(settings.PAYMENT_WORKERS, settings.PAYMENT_WORKERS * 16),
    )
