"""CSV export: each kind's rows in the import's own format and in a fixed order, streamed from the database
(a server-side cursor on PostgreSQL), so an export imported into an empty database exports identically."""

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import ROUND_HALF_UP
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import CENT
from db.models import Category, InventoryTransaction, Product, ProductSupplier, StockLevel, Supplier, Warehouse
from db.transfer.csvfile import cell
from db.transfer.formats import FORMATS, LEDGER_COLUMNS, PATH_SEPARATOR
from db.transfer.imports import category_paths

# Rows fetched per round trip while streaming.
BATCH = 1_000


def header(kind: str) -> list[str]:
    return list(LEDGER_COLUMNS if kind == "ledger" else FORMATS[kind].columns)


async def _stream(session: AsyncSession, query: Select[Any]) -> AsyncIterator[Any]:
    result = await session.stream(query.execution_options(yield_per=BATCH))
    async for row in result:
        yield row


async def export_rows(
    session: AsyncSession, *, kind: str, since: datetime | None = None, until: datetime | None = None
) -> AsyncIterator[list[str]]:
    """The rows of an export of `kind` (without the header), each as its cells. `since`/`until` bound the
    ledger's entries by time (from inclusive, to exclusive)."""
    paths = {i: PATH_SEPARATOR.join(names) for i, names in (await category_paths(session)).items()}
    if kind == "categories":
        rows = await session.execute(select(Category.id, Category.slug, Category.description))
        for path, slug, description in sorted((paths[r.id], r.slug, r.description) for r in rows):
            yield [path, slug, cell(description)]
    elif kind == "suppliers":
        query = select(Supplier.name, Supplier.email, Supplier.phone, Supplier.website, Supplier.address,
                       Supplier.is_active).order_by(Supplier.name, Supplier.id)
        async for row in _stream(session, query):
            yield [cell(value) for value in row]
    elif kind == "warehouses":
        query = select(Warehouse.code, Warehouse.name, Warehouse.address, Warehouse.is_active).order_by(Warehouse.code)
        async for row in _stream(session, query):
            yield [cell(value) for value in row]
    elif kind == "products":
        query = select(Product.sku, Product.name, Product.description, Product.unit_price, Product.category_id,
                       Product.reorder_point, Product.reorder_quantity, Product.is_active).order_by(Product.sku)
        async for row in _stream(session, query):
            category = None if row.category_id is None else paths[row.category_id]
            yield [cell(v) for v in (*row[:4], category, *row[5:])]
    elif kind == "offers":
        query = (
            select(Product.sku, Supplier.name, ProductSupplier.supplier_sku, ProductSupplier.unit_cost,
                   ProductSupplier.lead_time_days, ProductSupplier.is_preferred)
            .join(Product, Product.id == ProductSupplier.product_id)
            .join(Supplier, Supplier.id == ProductSupplier.supplier_id)
            .order_by(Product.sku, Supplier.name, Supplier.id)
        )
        async for row in _stream(session, query):
            yield [cell(value) for value in row]
    elif kind == "stock":
        # A level's units at the product's average cost, in cents: imported, they give back the same levels
        # and an average cost that exports the same.
        query = (
            select(Product.sku, Warehouse.code, StockLevel.quantity, Product.average_cost)
            .join(Product, Product.id == StockLevel.product_id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(StockLevel.quantity > 0)
            .order_by(Product.sku, Warehouse.code)
        )
        async for row in _stream(session, query):
            yield [row.sku, row.code, str(row.quantity), str(row.average_cost.quantize(CENT, ROUND_HALF_UP))]
    else:
        query = (
            select(InventoryTransaction.created_at, Product.sku, Warehouse.code, InventoryTransaction.kind,
                   InventoryTransaction.quantity, InventoryTransaction.balance_after, InventoryTransaction.unit_cost,
                   InventoryTransaction.reference, InventoryTransaction.note, InventoryTransaction.reason)
            .join(Product, Product.id == InventoryTransaction.product_id)
            .join(Warehouse, Warehouse.id == InventoryTransaction.warehouse_id)
            .order_by(InventoryTransaction.id)
        )
        if since is not None:
            query = query.where(InventoryTransaction.created_at >= since)
        if until is not None:
            query = query.where(InventoryTransaction.created_at < until)
        async for row in _stream(session, query):
            yield [cell(row.created_at), row.sku, row.code, row.kind.value, *(cell(v) for v in row[4:])]
