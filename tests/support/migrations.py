"""Checking that the Alembic migrations create exactly what the models describe."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from apranova_api import models as _payments_models  # noqa: F401  (registers the tables)
from apranova_api.accounts import models as _accounts_models  # noqa: F401  (registers the tables)
from apranova_api.db import Base


def schema_differences(engine: Engine, tables: Collection[str]) -> list[Any]:
    """Alembic's differences between the migrated database and the models, for ``tables``."""

    def include_name(name: str | None, type_: str, parents: dict[str, str | None]) -> bool:
        table = name if type_ == "table" else parents.get("table_name")
        return type_ == "schema" or table in tables

    def include_object(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table in tables

    with engine.connect() as connection:
        opts = {"include_name": include_name, "include_object": include_object}
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, Base.metadata))
