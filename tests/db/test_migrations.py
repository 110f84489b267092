"""The migrations build exactly the schema the models declare, and undo it cleanly."""

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from db import migrate
from db.config import Settings
from db.engine import Database
from db.models import Base, Category, InventoryTransaction, Product, Role, User, Warehouse
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


async def test_sqlite_tables_copied_by_0007_keep_their_indexes_and_statistics(fresh_database: Database) -> None:
    """0007 adds foreign keys, for which SQLite copies each table: the copies get back the expression and
    partial indexes, and the planner statistics the originals had."""
    if not fresh_database.settings.is_sqlite:
        pytest.skip("SQLite only: PostgreSQL adds the columns in place")
    engine = fresh_database.engine
    tables = ("categories", "suppliers", "products", "product_suppliers", "warehouses")
    await migrate.upgrade(engine, "0005")
    now = utcnow().isoformat()
    async with engine.begin() as conn:
        for sql in (
            "INSERT INTO categories (id, name, slug, created_at, updated_at) VALUES (1, 'Tools', 'tools', :now, :now)",
            "INSERT INTO suppliers (id, name, is_active, created_at, updated_at) VALUES (1, 'Acme', 1, :now, :now)",
            "INSERT INTO products (id, sku, name, unit_price, category_id, reorder_point, reorder_quantity, "
            "is_active, average_cost, created_at, updated_at) VALUES (1, 'A-1', 'Hammer', 1, 1, 0, 0, 1, 0, :now, :now)",
            "INSERT INTO product_suppliers (id, product_id, supplier_id, unit_cost, lead_time_days, is_preferred, "
            "created_at, updated_at) VALUES (1, 1, 1, 1, 0, 1, :now, :now)",
            "INSERT INTO warehouses (id, code, name, is_active, created_at, updated_at) "
            "VALUES (1, 'MAIN', 'Main', 1, :now, :now)",
        ):
            await conn.execute(text(sql), {"now": now})
        await conn.exec_driver_sql("ANALYZE")

    await migrate.upgrade(engine)

    async with engine.connect() as conn:
        measured = {name for (name,) in await conn.exec_driver_sql("SELECT DISTINCT tbl FROM sqlite_stat1")}
        indexes = dict((await conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
    assert set(tables) <= measured
    assert "lower(name)" in indexes["uq_categories_sibling_name"]
    assert "lower(name)" in indexes["uq_suppliers_lower_name"]
    assert indexes["uq_product_suppliers_preferred"].endswith("WHERE is_preferred")
    # A second preferred offer for the product is still refused by the partial unique index.
    async with engine.connect() as conn:
        with pytest.raises(IntegrityError):
            await conn.exec_driver_sql(
                "INSERT INTO suppliers (id, name, is_active, created_at, updated_at) VALUES (2, 'Bolt', 1, '', '')"
            )
            await conn.exec_driver_sql(
                "INSERT INTO product_suppliers (id, product_id, supplier_id, unit_cost, lead_time_days, "
                "is_preferred, created_at, updated_at) VALUES (2, 1, 2, 1, 0, 1, '', '')"
            )


async def test_scoping_idempotency_keys_gives_each_stored_key_to_the_user_who_made_its_entries(
    fresh_database: Database,
) -> None:
    """0008: a key stored before keys were per user goes to the user who made the ledger entries it points to;
    one that points to none made by a user is dropped; going back keeps each key's newest row."""
    engine = fresh_database.engine
    before = migrate._scripts().get_revision("0008").down_revision
    await migrate.upgrade(engine, before)
    now = utcnow()
    async with engine.begin() as conn:
        for id_, name in ((1, "clerk"), (2, "manager")):
            await conn.execute(
                insert(User).values(id=id_, username=name, password_hash="x", role=Role.CLERK, created_at=now,
                                    updated_at=now)
            )
        await conn.execute(insert(Product).values(id=1, sku="P-1", name="P", unit_price=Decimal("1.00"),
                                                  created_at=now, updated_at=now))
        await conn.execute(insert(Warehouse).values(id=1, code="W", name="W", created_at=now, updated_at=now))
        for id_, made_by in ((1, 1), (2, 2), (3, 2), (4, None)):
            await conn.execute(
                insert(InventoryTransaction).values(
                    id=id_, product_id=1, warehouse_id=1, kind="RECEIPT", quantity=1, balance_after=id_,
                    created_at=now, created_by_id=made_by,
                )
            )
        keys = {
            "by-clerk": [1],
            "by-manager": [2, 3],
            "outside-the-api": [4],  # an entry no user made
            "matched-count": [],  # a count that matched records no entry
        }
        for key, ids in keys.items():
            await conn.execute(
                text(
                    "INSERT INTO idempotency_keys (key, operation, request_hash, response, created_at) "
                    "VALUES (:key, 'receiveStock', :hash, :response, :created_at)"
                ),
                {"key": key, "hash": "0" * 64, "response": json.dumps({"transaction_ids": ids}),
                 "created_at": now.replace(tzinfo=None) if fresh_database.settings.is_sqlite else now},
            )

    await migrate.upgrade(engine, "0008")
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT key, user_id FROM idempotency_keys ORDER BY key"))).all()
    assert [tuple(row) for row in rows] == [("by-clerk", 1), ("by-manager", 2)]

    # Per user now: the manager may send the clerk's key as a key of their own.
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO idempotency_keys (user_id, key, operation, request_hash, response, created_at) "
                "SELECT 2, key, operation, request_hash, response, created_at FROM idempotency_keys "
                "WHERE key = 'by-clerk'"
            )
        )
    await migrate.downgrade(engine, before)
    async with engine.connect() as conn:
        keys_left = (await conn.execute(text("SELECT key FROM idempotency_keys ORDER BY key"))).scalars().all()
    # The two by-clerk rows were equally new: the one of the higher user id stays, one row per key.
    assert keys_left == ["by-clerk", "by-manager"]


async def test_scoping_more_idempotency_keys_than_a_statement_takes_parameters(fresh_database: Database) -> None:
    """0008 reads the entries of stored keys in chunks: more keys than one statement takes parameters (32,767
    on asyncpg; SQLite's limit depends on its build) all go to their users."""
    engine = fresh_database.engine
    before = migrate._scripts().get_revision("0008").down_revision
    await migrate.upgrade(engine, before)
    now = utcnow()
    count = 33_000
    stored_at = now.replace(tzinfo=None) if fresh_database.settings.is_sqlite else now
    async with engine.begin() as conn:
        await conn.execute(
            insert(User).values(id=1, username="clerk", password_hash="x", role=Role.CLERK, created_at=now,
                                updated_at=now)
        )
        await conn.execute(insert(Product).values(id=1, sku="P-1", name="P", unit_price=Decimal("1.00"),
                                                  created_at=now, updated_at=now))
        await conn.execute(insert(Warehouse).values(id=1, code="W", name="W", created_at=now, updated_at=now))
        await conn.execute(
            insert(InventoryTransaction),
            [
                {"id": n, "product_id": 1, "warehouse_id": 1, "kind": "RECEIPT", "quantity": 1, "balance_after": n,
                 "created_at": now, "created_by_id": 1}
                for n in range(1, count + 1)
            ],
        )
        await conn.execute(
            text(
                "INSERT INTO idempotency_keys (key, operation, request_hash, response, created_at) "
                "VALUES (:key, 'receiveStock', :hash, :response, :created_at)"
            ),
            [
                {"key": f"key-{n}", "hash": "0" * 64, "response": json.dumps({"transaction_ids": [n]}),
                 "created_at": stored_at}
                for n in range(1, count + 1)
            ],
        )

    await migrate.upgrade(engine, "0008")
    async with engine.connect() as conn:
        owners = (await conn.execute(text("SELECT user_id, count(*) FROM idempotency_keys GROUP BY user_id"))).all()
    assert [tuple(row) for row in owners] == [(1, count)]
