"""Run alembic migrations programmatically (used by the CLI, the server start and the tests), one process at a
time, and say whether a database is at the newest revision."""

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations
from db import locks
from db.engine import BEGIN_IMMEDIATE
from db.models import Base
from db.problems import DatabaseProblem

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
    return tuple(_scripts().get_heads())


def known_revisions() -> frozenset[str]:
    """Every revision in the migrations folder."""
    return frozenset(script.revision for script in _scripts().walk_revisions())


@functools.cache
def _scripts() -> ScriptDirectory:
    # The migrations folder is part of the installed package: read once per process.
    return ScriptDirectory.from_config(alembic_config())


def revision_problem(revisions: tuple[str, ...]) -> str | None:
    """Why a database at `revisions` cannot be served by this version (None when it is at the head)."""
    newest = heads()
    if set(revisions) == set(newest):
        return None
    if not revisions:
        return "The database has no inventory tables yet (no migration applied): run `inventory db upgrade`."
    shown, head = ", ".join(revisions), ", ".join(newest)
    unknown = _unknown(revisions)
    if unknown:
        return (
            f"The database is at revision {', '.join(unknown)}, which this version of inventory does not know "
            f"(a newer version migrated it): use that version, or have it `inventory db downgrade {head}`."
        )
    return f"The database is at revision {shown}, behind this version's {head}: run `inventory db upgrade`."


def _unknown(revisions: tuple[str, ...]) -> list[str]:
    return [revision for revision in revisions if revision not in known_revisions()]


async def require_head(engine: AsyncEngine) -> None:
    """DatabaseProblem unless the database is reachable and at the newest revision."""
    problem = revision_problem(await current(engine))
    if problem is not None:
        raise DatabaseProblem(problem)


async def _run(engine: AsyncEngine, action) -> None:  # type: ignore[no-untyped-def]
    """Run an alembic command in one transaction that holds the migrations lock: processes that start at
    the same moment migrate one after the other, and the later ones find the work done."""

    def run(sync_connection) -> None:  # type: ignore[no-untyped-def]
        # alembic would fail on a revision it cannot find with a message that does not say why.
        revisions = tuple(MigrationContext.configure(sync_connection).get_current_heads())
        if _unknown(revisions):
            raise DatabaseProblem(str(revision_problem(revisions)))
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        action(config)

    sqlite = engine.dialect.name == "sqlite"

    async def attempt() -> None:
        async with engine.connect() as connection:
            # SQLite checks foreign keys row by row when a table is dropped, which batch migrations
            # (copy, drop, rename) and downgrades do; the check is switched off for the migration and
            # done once for the whole database before committing. The pragma is a no-op inside a
            # transaction, so it is set before BEGIN.
            if sqlite:
                await connection.run_sync(_set_sqlite_foreign_keys, False)
                await connection.execution_options(**{BEGIN_IMMEDIATE: True})
            try:
                async with connection.begin():
                    await locks.serialize(connection, locks.MIGRATIONS)
                    await connection.run_sync(run)
                    if sqlite:
                        violations = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                        if violations:
                            raise RuntimeError(f"migration left rows with broken foreign keys: {violations[:10]}")
            finally:
                if sqlite:
                    await connection.run_sync(_set_sqlite_foreign_keys, True)

    await locks.waiting_out_sqlite_busy(attempt)


def _set_sqlite_foreign_keys(sync_connection, enabled: bool) -> None:  # type: ignore[no-untyped-def]
    cursor = sync_connection.connection.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    cursor.close()


async def measure_unmeasured_tables(engine: AsyncEngine) -> list[str]:
    """On SQLite, ANALYZE each table that holds rows but has no planner statistics; the tables analyzed.

    SQLite gathers statistics only when told to, and without them its planner reads a product's stock through
    the primary key's index rather than the covering one (the low-stock report walks thousands of products).
    A database created empty (`serve --demo`, a first start) gets its statistics at the next start that finds
    rows. PostgreSQL's autovacuum keeps its own statistics: nothing to do there.
    """
    if engine.dialect.name != "sqlite":
        return []

    async def attempt() -> list[str]:
        analyzed: list[str] = []
        async with engine.begin() as connection:
            has_statistics = await connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
            )
            measured: set[str] = set()
            if has_statistics.first() is not None:
                measured_tables = await connection.exec_driver_sql("SELECT DISTINCT tbl FROM sqlite_stat1")
                measured = {name for (name,) in measured_tables}
            for table in Base.metadata.sorted_tables:
                if table.name in measured:
                    continue
                if (await connection.exec_driver_sql(f'SELECT 1 FROM "{table.name}" LIMIT 1')).first() is not None:
                    await connection.exec_driver_sql(f'ANALYZE "{table.name}"')
                    analyzed.append(table.name)
        return analyzed

    # ANALYZE writes: while another process loads the demo data it waits, as the migrations do.
    return await locks.waiting_out_sqlite_busy(attempt)
