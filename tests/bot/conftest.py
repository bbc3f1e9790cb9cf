"""A database engine for store tests: a SQLite file, and PostgreSQL (127.0.0.1:5432, `test`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.store import make_engine

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of each kind the gateway supports."""
    if request.param == "sqlite":
        sqlite = make_engine(f"sqlite:///{tmp_path}/sub/gateway.db")
        yield sqlite
        sqlite.dispose()
        return
    # A schema of its own per test, so runs never see each other's rows.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    postgres = make_engine(POSTGRES).execution_options(schema_translate_map={None: schema})
    try:
        yield postgres
    finally:
        postgres.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
