"""Run alembic migrations programmatically (used by the CLI, the server start and the tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url)
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` over the given engine."""
    await _run(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, lambda cfg: command.downgrade(cfg, revision))


async def current(engine: AsyncEngine) -> tuple[str, ...]:
    """The revisions the database is at; empty when no migration has been applied."""
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())


def heads() -> tuple[str, ...]:
    """The newest revisions in the migrations folder."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


async def _run(engine: AsyncEngine, action) -> None:  # type: ignore[no-untyped-def]
    def run(sync_connection) -> None:  # type: ignore[no-untyped-def]
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        action(config)

    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as connection:
        # SQLite checks foreign keys row by row when a table is dropped, which batch migrations
        # (copy, drop, rename) and downgrades do; the check is switched off for the migration and
        # done once for the whole database before committing. The pragma is a no-op inside a
        # transaction, so it is set before BEGIN.
        if sqlite:
            await connection.run_sync(_set_sqlite_foreign_keys, False)
        try:
            async with connection.begin():
                await connection.run_sync(run)
                if sqlite:
                    violations = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if violations:
                        raise RuntimeError(f"migration left rows with broken foreign keys: {violations[:10]}")
        finally:
            if sqlite:
                await connection.run_sync(_set_sqlite_foreign_keys, True)


def _set_sqlite_foreign_keys(sync_connection, enabled: bool) -> None:  # type: ignore[no-untyped-def]
    cursor = sync_connection.connection.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    cursor.close()
