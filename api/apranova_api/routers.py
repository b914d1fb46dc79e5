"""Every router the API serves; :func:`apranova_api.app.create_app` includes them in order.

Each part of the API adds exactly one line here.
"""

from __future__ import annotations

from fastapi import APIRouter

from apranova_api.accounts.routes import router as accounts_router
from apranova_api.ops import router as ops_router
from apranova_api.pages.dashboard import router as dashboard_router
from apranova_api.pages.forms import router as page_forms_router
from apranova_api.pages.routes import router as pages_router
from apranova_api.payments.routes import router as payments_router

ROUTERS: list[APIRouter] = [
    ops_router,
    payments_router,
    accounts_router,
    pages_router,
    dashboard_router,
    page_forms_router,
]
