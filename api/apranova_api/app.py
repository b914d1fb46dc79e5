"""The FastAPI application: routers, shared services and the repair loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from apranova_api.access_log import AccessLogMiddleware
from apranova_api.accounts.runtime import start_accounts, stop_accounts
from apranova_api.accounts.settings import AccountsSettings
from apranova_api.kube import Cluster
from apranova_api.payments.repair import RepairLoop
from apranova_api.routers import ROUTERS
from apranova_api.security_headers import SecurityHeadersMiddleware
from apranova_api.services import build_services
from apranova_api.settings import Settings


def create_app(settings: Settings, kube: Cluster | None = None, *, repair: bool = True) -> FastAPI:
    """The API for ``settings``; the database schema must already be migrated."""
    services = build_services(settings, kube)
    accounts_config = AccountsSettings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        loop = RepairLoop(services, settings.REPAIR_INTERVAL_SECONDS) if repair else None
        if loop is not None:
            loop.start()
        accounts = start_accounts(_app, services.sessions, services.kube, accounts_config)
        try:
            yield
        finally:
            await stop_accounts(accounts)
            if loop is not None:
                loop.stop()
            services.engine.dispose()

    app = FastAPI(title="ApraNova API", lifespan=lifespan)
    app.state.settings = settings
    app.state.services = services
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware)
    return app
