"""Helpers for the stock mutation tests: rows made straight in the database, the mutations' documents,
and reads of the stock tables with plain SQL."""

from decimal import Decimal
from typing import Any

from sqlalchemy import select, text

from db.engine import Database
from db.models import Product, ProductSupplier, Supplier, Warehouse
from tests.utils import GraphQLClient, global_id

STOCK_TABLES = ("stock_levels", "inventory_transactions", "idempotency_keys")

ENTRY_FIELDS = "id kind quantity balanceAfter unitCost reference note product { id } warehouse { id }"
PAYLOAD_FIELDS = (
    f"transactions {{ {ENTRY_FIELDS} }} stockLevels {{ quantityOnHand product {{ id }} warehouse {{ id }} }} "
    "replayed errors { field message code }"
)


def _mutation(name: str, input_type: str) -> str:
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {PAYLOAD_FIELDS} }} }}"


RECEIVE = _mutation("receiveStock", "ReceiveStockInput")
SHIP = _mutation("shipStock", "ShipStockInput")
ADJUST = _mutation("adjustStock", "AdjustStockInput")
TRANSFER = _mutation("transferStock", "TransferStockInput")
RETURN = _mutation("returnStock", "ReturnStockInput")


async def make_warehouse(database: Database, code: str, *, active: bool = True) -> tuple[int, str]:
    """A warehouse row; its primary key and global ID."""
    async with database.write_session() as session, session.begin():
        row = Warehouse(code=code, name=f"Warehouse {code}", is_active=active)
        session.add(row)
    return row.id, global_id("Warehouse", row.id)


async def make_product(
    database: Database, sku: str, *, active: bool = True, preferred_cost: str | None = None
) -> tuple[int, str]:
    """A product row (with a preferred supplier at `preferred_cost` if given); its primary key and global ID."""
    async with database.write_session() as session, session.begin():
        row = Product(sku=sku, name=f"Product {sku}", unit_price=Decimal("10.00"), is_active=active)
        session.add(row)
        await session.flush()
        if preferred_cost is not None:
            supplier = Supplier(name=f"Supplier of {sku}")
            session.add(supplier)
            await session.flush()
            session.add(
                ProductSupplier(
                    product_id=row.id, supplier_id=supplier.id, unit_cost=Decimal(preferred_cost), is_preferred=True
                )
            )
    return row.id, global_id("Product", row.id)


async def average_cost(database: Database, product_id: int) -> Decimal:
    async with database.read_session() as session:
        return (await session.scalar(select(Product.average_cost).where(Product.id == product_id))) or Decimal(0)


async def level(database: Database, product_id: int, warehouse_id: int) -> int | None:
    async with database.engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT quantity FROM stock_levels WHERE product_id = :p AND warehouse_id = :w"),
                {"p": product_id, "w": warehouse_id},
            )
        ).scalar()


async def ledger_sum(database: Database, product_id: int, warehouse_id: int) -> int:
    async with database.engine.connect() as conn:
        return (
            await conn.execute(
                text(
                    "SELECT COALESCE(SUM(quantity), 0) FROM inventory_transactions "
                    "WHERE product_id = :p AND warehouse_id = :w"
                ),
                {"p": product_id, "w": warehouse_id},
            )
        ).scalar()


async def count(database: Database, table: str) -> int:
    async with database.engine.connect() as conn:
        return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar()


async def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the stock tables and the products, read with plain SQL."""
    orders = {"stock_levels": "product_id, warehouse_id", "idempotency_keys": "user_id, key"}
    tables = {table: orders.get(table, "id") for table in (*STOCK_TABLES, "products")}
    async with database.engine.connect() as conn:
        return {
            table: [tuple(row) for row in await conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]
            for table, order in tables.items()
        }


async def move(gql: GraphQLClient, mutation: str, **input: Any) -> dict[str, Any]:
    """Run a stock mutation that must succeed; returns its payload."""
    data = await gql(mutation, {"input": input})
    (payload,) = data.values()
    assert payload["errors"] == [], payload["errors"]
    return payload


async def refused(
    gql: GraphQLClient, database: Database, mutation: str, code: str, field: str | None, **input: Any
) -> str:
    """Run a stock mutation that must be refused with `code` on `field` and change nothing; the message."""
    before = await snapshot(database)
    data = await gql(mutation, {"input": input})
    (payload,) = data.values()
    assert payload["transactions"] == [] and payload["stockLevels"] == [] and not payload["replayed"], payload
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], payload["errors"]
    assert await snapshot(database) == before
    return payload["errors"][0]["message"]
