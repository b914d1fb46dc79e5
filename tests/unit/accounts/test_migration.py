from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from apranova_api.accounts import models
from apranova_api.db import Base, make_engine
from apranova_api.migrate import upgrade_to_head

OURS = {
    models.PasswordToken.__tablename__,
    models.AccountSession.__tablename__,
    models.LoginFailure.__tablename__,
    models.OutboxMessage.__tablename__,
}


def _ours(name: str | None, type_: str, parents: dict[str, str | None]) -> bool:
    return type_ == "schema" or (name if type_ == "table" else parents.get("table_name")) in OURS


def _our_object(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in OURS


def test_migration_0002_matches_the_accounts_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    upgrade_to_head(engine)
    with engine.connect() as connection:
        opts = {"include_name": _ours, "include_object": _our_object}
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()
