"""Read queries for stock: levels, ledger pages, purchase orders, batched lookups for the loaders."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.binds import Bind, with_values
from db.catalog_reads import contains_text, search_pattern
from db.errors import Invalid
from db.models import (
    AdjustmentReason,
    InventoryTransaction,
    PurchaseOrderLine,
    StockLevel,
    TransactionKind,
    Warehouse,
)
from db.pagination import Page, SortKey, Window, fetch_pages
from db.rows import fetch_row, fetch_rows, one_of, select_rows

WAREHOUSE_SORT = SortKey((Warehouse.name, Warehouse.id))
# Within one warehouse the product id alone identifies a stock level.
WAREHOUSE_STOCK_SORT = SortKey((StockLevel.product_id,))
# The ledger is read newest first; ids grow with time, so the id alone orders it.
TRANSACTION_SORT = SortKey((InventoryTransaction.id,), descending=True)


@dataclass(frozen=True)
class WarehouseFilter:
    search: str | None = None
    is_active: bool | None = None


@dataclass(frozen=True)
class TransactionFilter:
    """Ledger entries to list; `created_from` is inclusive and `created_to` exclusive."""

    product_id: int | None = None
    warehouse_id: int | None = None
    kinds: frozenset[TransactionKind] = frozenset()
    created_from: datetime | None = None
    created_to: datetime | None = None
    reference: str | None = None
    # Entries with any of these adjustment reasons (ADJUSTMENT entries that have one).
    reasons: frozenset[AdjustmentReason] = frozenset()


def check_period(start: datetime | None, end: datetime | None, *, start_field: str, end_field: str) -> None:
    """Refuse times without a zone (their instant is unknown) and a period that ends before it starts."""
    for value, field in ((start, start_field), (end, end_field)):
        if value is not None and value.utcoffset() is None:
            raise Invalid(f"`{field}` needs a time zone offset, e.g. 2024-05-01T00:00:00Z.", field=field)
    if start is not None and end is not None and start > end:
        raise Invalid(f"`{end_field}` must not be before `{start_field}`.", field=end_field)


def warehouse_conditions(
    spec: WarehouseFilter, bind: Bind | None = None, warehouse: Any = Warehouse
) -> list[ColumnElement[bool]]:
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = []
    if spec.search:
        pattern = search_pattern(bind, lambda s: s.search)
        conditions.append(or_(contains_text(warehouse.name, pattern), contains_text(warehouse.code, pattern)))
    if spec.is_active is not None:
        conditions.append(warehouse.is_active == bind("is_active", lambda s: s.is_active))
    return conditions


def transaction_conditions(
    spec: TransactionFilter, bind: Bind | None = None, entry: Any = InventoryTransaction
) -> list[ColumnElement[bool]]:
    """(`entry`: the entity, as in db/catalog_reads.py.)"""
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = []
    if spec.product_id is not None:
        conditions.append(entry.product_id == bind("product_id", lambda s: s.product_id))
    if spec.warehouse_id is not None:
        conditions.append(entry.warehouse_id == bind("warehouse_id", lambda s: s.warehouse_id))
    if spec.kinds:
        # The set of kinds is part of the statement's shape (db/binds.py): one parameter each.
        kinds = [bind(f"kind_{i}", lambda s, i=i: sorted(s.kinds)[i]) for i in range(len(spec.kinds))]
        conditions.append(or_(*(entry.kind == kind for kind in kinds)))
    if spec.reasons:
        reasons = [bind(f"reason_{i}", lambda s, i=i: sorted(s.reasons)[i]) for i in range(len(spec.reasons))]
        conditions.append(or_(*(entry.reason == reason for reason in reasons)))
    if spec.created_from is not None:
        conditions.append(entry.created_at >= bind("created_from", lambda s: s.created_from))
    if spec.created_to is not None:
        conditions.append(entry.created_at < bind("created_to", lambda s: s.created_to))
    if spec.reference is not None:
        conditions.append(entry.reference == bind("reference", lambda s: s.reference))
    return conditions


async def warehouse_by_code(session: AsyncSession, code: str) -> Any:
    return await fetch_row(session, select_rows(Warehouse).where(Warehouse.code == code.strip().upper()))


async def levels_by_product_ids(session: AsyncSession, product_ids: Sequence[int]) -> dict[int, list[StockLevel]]:
    """Each product's stock levels, ordered like the warehouse list (by warehouse name)."""
    rows = await fetch_rows(
        session,
        select_rows(StockLevel)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(one_of(session, StockLevel.product_id, product_ids))
        .order_by(StockLevel.product_id, *WAREHOUSE_SORT.order_by())
    )
    grouped: dict[int, list[StockLevel]] = defaultdict(list)
    for row in rows:
        grouped[row.product_id].append(row)
    return grouped


async def levels_by_keys(
    session: AsyncSession, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], StockLevel]:
    """The stock levels of these (product id, warehouse id) pairs that exist: the products' levels in the
    warehouses asked for, the pairs not asked for left out."""
    wanted = set(keys)
    rows = await fetch_rows(
        session,
        select_rows(StockLevel).where(
            one_of(session, StockLevel.product_id, sorted({p for p, _ in wanted})),
            one_of(session, StockLevel.warehouse_id, sorted({w for _, w in wanted})),
        ),
    )
    return {(row.product_id, row.warehouse_id): row for row in rows if (row.product_id, row.warehouse_id) in wanted}


async def level_pages_by_warehouse_ids(
    session: AsyncSession, warehouse_ids: Sequence[int], window: Window
) -> dict[int, Page[StockLevel]]:
    return await fetch_pages(
        session,
        select_rows(StockLevel),
        StockLevel,
        StockLevel.warehouse_id,
        warehouse_ids,
        WAREHOUSE_STOCK_SORT,
        window,
    )


async def level_counts_by_warehouse_ids(session: AsyncSession, warehouse_ids: Sequence[int]) -> dict[int, int]:
    stmt = (
        select(StockLevel.warehouse_id, func.count())
        .where(one_of(session, StockLevel.warehouse_id, warehouse_ids))
        .group_by(StockLevel.warehouse_id)
    )
    return {warehouse_id: n for warehouse_id, n in (await session.execute(stmt)).all()}


async def transaction_pages_by_product_ids(
    session: AsyncSession, product_ids: Sequence[int], spec: TransactionFilter, window: Window
) -> dict[int, Page[InventoryTransaction]]:
    stmt = select_rows(InventoryTransaction).where(*transaction_conditions(spec))
    return await fetch_pages(
        session, stmt, InventoryTransaction, InventoryTransaction.product_id, product_ids, TRANSACTION_SORT, window
    )


async def transaction_counts_by_product_ids(
    session: AsyncSession, product_ids: Sequence[int], spec: TransactionFilter
) -> dict[int, int]:
    stmt = (
        select(InventoryTransaction.product_id, func.count())
        .where(one_of(session, InventoryTransaction.product_id, product_ids), *transaction_conditions(spec))
        .group_by(InventoryTransaction.product_id)
    )
    return {product_id: n for product_id, n in (await session.execute(stmt)).all()}


async def lines_by_purchase_order_ids(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, list[PurchaseOrderLine]]:
    rows = await fetch_rows(
        session,
        select_rows(PurchaseOrderLine)
        .where(one_of(session, PurchaseOrderLine.purchase_order_id, order_ids))
        .order_by(PurchaseOrderLine.id)
    )
    grouped: dict[int, list[PurchaseOrderLine]] = defaultdict(list)
    for row in rows:
        grouped[row.purchase_order_id].append(row)
    return grouped
