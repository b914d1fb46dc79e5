from __future__ import annotations

from pathlib import Path

from apranova_api.accounts import models
from apranova_api.db import make_engine
from apranova_api.migrate import upgrade_to_head
from tests.support.migrations import schema_differences

OURS = {
    models.PasswordToken.__tablename__,
    models.AccountSession.__tablename__,
    models.LoginFailure.__tablename__,
    models.OutboxMessage.__tablename__,
}


def test_migration_0002_matches_the_accounts_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    upgrade_to_head(engine)
    assert schema_differences(engine, OURS) == []
    engine.dispose()
