"""The FastAPI application: routers, the service container and its background workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from apranova_api.access_log import AccessLogMiddleware
from apranova_api.adapters.kube import Cluster
from apranova_api.config import ApiSettings
from apranova_api.routers import ROUTERS
from apranova_api.security_headers import SecurityHeadersMiddleware
from apranova_api.services import build_services
from apranova_api.workers import background_workers


def create_app(
    settings: ApiSettings, kube: Cluster | None = None, *, repair: bool = True
) -> FastAPI:
    """The API for ``settings``; the database schema must already be migrated."""
    services = build_services(settings, kube)
    repair_interval = settings.payments.REPAIR_INTERVAL_SECONDS if repair else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with background_workers(services, repair_interval):
            yield

    app = FastAPI(title="ApraNova API", lifespan=lifespan)
    app.state.settings = settings
    app.state.services = services
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware)
    return app
