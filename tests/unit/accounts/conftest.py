"""A migrated SQLite database (a file, no server) and a student in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from apranova_api.db import make_engine, make_session_factory
from apranova_api.migrate import upgrade_to_head
from apranova_api.models import User
from tests.support.students import paid_student


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'accounts.db'}")
    upgrade_to_head(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def student(sessions: sessionmaker[Session]) -> User:
    with sessions() as session, session.begin():
        user = paid_student("Ada Lovelace", "DP")
        session.add(user)
    return user
