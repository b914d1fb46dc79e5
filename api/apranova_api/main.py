"""``apranova api``: validate settings, migrate the database, serve with uvicorn."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import replace

import uvicorn

from apranova_api.app import create_app
from apranova_api.config import SettingsError, load_api_settings
from apranova_api.db import make_engine
from apranova_api.migrate import upgrade_to_head


class JsonFormatter(logging.Formatter):
    """One JSON object per log line (production)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(production: bool) -> None:
    """JSON logs in production, readable lines elsewhere."""
    handler = logging.StreamHandler()
    if production:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def listening_origins(host: str, port: int) -> list[str]:
    """The origins of this API itself: its pages may always be redirect targets (pure)."""
    hosts = ["127.0.0.1", "localhost"] if host in ("127.0.0.1", "0.0.0.0", "localhost") else [host]
    return [f"http://{name}:{port}" for name in hosts]


def own_base_url(host: str, port: int) -> str:
    """This API's own address, the default ``PUBLIC_BASE_URL`` for links in emails (pure)."""
    return listening_origins(host, port)[0]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="apranova api", description="Run the enrollment API.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    return parser.parse_args(argv)


def settings_problems() -> list[str]:
    """One line per bad environment variable, across every section of the API's settings."""
    try:
        load_api_settings()
    except SettingsError as error:
        return error.problems
    return []


def run_api(argv: list[str]) -> int:
    """Entry point of ``apranova api``; returns the exit status."""
    args = parse_args(argv)
    os.environ.setdefault("PUBLIC_BASE_URL", own_base_url(args.host, args.port))
    try:
        settings = load_api_settings()
    except SettingsError as error:
        for problem in error.problems:
            print(f"apranova api: {problem}", file=sys.stderr)
        return 2
    payments = settings.payments
    if "ALLOWED_REDIRECT_ORIGINS" not in os.environ:
        own = listening_origins(args.host, args.port)
        merged = list(dict.fromkeys([*payments.ALLOWED_REDIRECT_ORIGINS, *own]))
        payments = payments.model_copy(update={"ALLOWED_REDIRECT_ORIGINS": merged})
        settings = replace(settings, payments=payments)
    configure_logging(payments.APRANOVA_ENV == "production")
    log = logging.getLogger("apranova_api")
    if payments.offline:
        log.warning("STRIPE_SECRET_KEY is unset: using the local checkout page (no real payments)")
    engine = make_engine(payments.DATABASE_URL)
    upgrade_to_head(engine)
    engine.dispose()
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0
