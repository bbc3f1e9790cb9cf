from __future__ import annotations

from bot.gateway import database_executor
from bot.settings import Settings

BASE = {"PSEUDONYM_KEY": "k" * 20}


def test_a_database_server_gets_one_thread_per_pooled_connection() -> None:
    settings = Settings.from_env(
        {**BASE, "DATABASE_URL": "postgresql://u@db:5432/lantern", "SQL_POOL_SIZE": "3"}
    )
    executor = database_executor(settings)
    assert executor is not None
    try:
        assert executor._max_workers == 3
    finally:
        executor.shutdown()


def test_a_sqlite_file_keeps_asyncios_default_threads() -> None:
    assert database_executor(Settings.from_env(BASE)) is None
