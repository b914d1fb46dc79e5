"""``apranova api``: validate settings, migrate the database, serve with uvicorn."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

import uvicorn
from pydantic import ValidationError

from apranova_api.accounts.settings import AccountsSettings
from apranova_api.app import create_app
from apranova_api.db import make_engine
from apranova_api.migrate import upgrade_to_head
from apranova_api.pages.settings import PagesSettings
from apranova_api.settings import Settings


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
    """One line per bad environment variable, across every settings module of the API."""
    problems: list[str] = []
    for model in (Settings, AccountsSettings, PagesSettings):
        try:
            model()
        except ValidationError as error:
            for problem in error.errors():
                where = ".".join(str(part) for part in problem["loc"]).upper() or model.__name__
                problems.append(f"{where}: {problem['msg']}")
    return problems


def run_api(argv: list[str]) -> int:
    """Entry point of ``apranova api``; returns the exit status."""
    args = parse_args(argv)
    os.environ.setdefault("PUBLIC_BASE_URL", own_base_url(args.host, args.port))
    problems = settings_problems()
    if problems:
        for problem in problems:
            print(f"apranova api: {problem}", file=sys.stderr)
        return 2
    settings = Settings()
    if "ALLOWED_REDIRECT_ORIGINS" not in os.environ:
        own = listening_origins(args.host, args.port)
        merged = list(dict.fromkeys([*settings.ALLOWED_REDIRECT_ORIGINS, *own]))
        settings = settings.model_copy(update={"ALLOWED_REDIRECT_ORIGINS": merged})
    configure_logging(settings.APRANOVA_ENV == "production")
    log = logging.getLogger("apranova_api")
    if settings.offline:
        log.warning("STRIPE_SECRET_KEY is unset: using the local checkout page (no real payments)")
    engine = make_engine(settings.DATABASE_URL)
    upgrade_to_head(engine)
    engine.dispose()
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0
