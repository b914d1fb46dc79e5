"""Every router the API serves; :func:`apranova_api.app.create_app` includes them in order.

Each concern of the API has its own router and adds exactly one line here.
"""

from __future__ import annotations

from fastapi import APIRouter

from apranova_api.accounts.forward_auth_routes import router as forward_auth_router
from apranova_api.accounts.gdpr_routes import router as gdpr_router
from apranova_api.accounts.profile_routes import router as profile_router
from apranova_api.accounts.progress_routes import router as progress_router
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
    profile_router,
    progress_router,
    gdpr_router,
    forward_auth_router,
    pages_router,
    dashboard_router,
    page_forms_router,
]
