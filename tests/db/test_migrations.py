"""The migrations build exactly the schema the models declare, and undo it cleanly."""

from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from db import migrate
from db.config import Settings
from db.engine import Database
from db.models import Base, Category
from db.types import utcnow

# SQLite cannot reflect expression indexes (the case-insensitive unique names); SQLAlchemy and alembic
# say so and leave them out of the comparison.
pytestmark = [
    pytest.mark.filterwarnings(
        r"ignore:Skipped unsupported reflection of expression-based index \w+$:sqlalchemy.exc.SAWarning"
    ),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index:UserWarning"),
]


@pytest.fixture
async def fresh_database(fresh_database_url: str) -> AsyncIterator[Database]:
    """An empty database of the same kind as the test database, apart from it."""
    database = Database(Settings(database_url=fresh_database_url))
    yield database
    await database.dispose()


async def _schema_diffs(engine: AsyncEngine) -> list[object]:
    def compare(sync_connection) -> list[object]:  # type: ignore[no-untyped-def]
        # The same options as migrations/env.py uses for autogenerate.
        context = MigrationContext.configure(
            sync_connection,
            opts={
                "render_as_batch": sync_connection.dialect.name == "sqlite",
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_upgrade_matches_models_and_downgrade_undoes_it(fresh_database: Database) -> None:
    engine = fresh_database.engine

    await migrate.upgrade(engine)
    assert await migrate.current(engine) == migrate.heads()
    assert await _schema_diffs(engine) == []

    # Rows that reference each other must not stop the schema from being taken down.
    now = utcnow()
    async with engine.begin() as conn:
        for id_, name, parent_id in ((1, "Tools", None), (2, "Drills", 1)):
            await conn.execute(
                insert(Category).values(
                    id=id_, name=name, slug=name.lower(), parent_id=parent_id, created_at=now, updated_at=now
                )
            )
    await migrate.downgrade(engine, "base")
    assert await _tables(engine) == {"alembic_version"}
    assert await migrate.current(engine) == ()

    await migrate.upgrade(engine)
    assert await _schema_diffs(engine) == []
    assert set(Base.metadata.tables) <= await _tables(engine)


async def test_sqlite_foreign_keys_stay_on_after_migrating(fresh_database: Database) -> None:
    if not fresh_database.settings.is_sqlite:
        pytest.skip("SQLite only")
    await migrate.upgrade(fresh_database.engine)
    async with fresh_database.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
