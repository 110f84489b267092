"""SQLite's planner statistics: gathered at start for tables that hold rows and have none."""

from sqlalchemy import text

from db import migrate
from db.engine import Database
from tests.factories import build_catalog


async def test_tables_with_rows_and_no_statistics_are_analyzed_once(database: Database) -> None:
    if database.engine.dialect.name != "sqlite":
        analyzed = await migrate.measure_unmeasured_tables(database.engine)
        assert analyzed == []  # PostgreSQL's autovacuum keeps its own statistics
        return
    async with database.engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS sqlite_stat1"))
    await build_catalog(database, products=5)

    analyzed = await migrate.measure_unmeasured_tables(database.engine)
    again = await migrate.measure_unmeasured_tables(database.engine)

    assert "products" in analyzed and "stock_levels" not in analyzed  # a table without rows is left as it is
    assert again == []
    async with database.engine.connect() as connection:
        measured = {row[0] for row in await connection.execute(text("SELECT tbl FROM sqlite_stat1"))}
    assert "products" in measured
