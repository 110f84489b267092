"""Stock reports computed by SQL aggregates: products to reorder, inventory valuation, stock movements."""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog_reads import product_sort, subtree_ids
from db.models import (
    Category,
    InventoryTransaction,
    Product,
    StockLevel,
    TransactionKind,
    Warehouse,
)
from db.pagination import Page, Window, count_where, fetch_page
from db.rows import one_of, select_rows
from db.types import Money

CENT = Decimal("0.01")
# quantity × average cost: exact at four places (the scale of average_cost) on both databases.
_VALUE = Money(38, 4)
LOW_STOCK_SORT = product_sort()


# --- low stock ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LowStockRow:
    product: Product
    warehouse_id: int | None
    quantity_on_hand: int

    @property
    def quantity_to_order(self) -> int:
        return quantity_to_order(
            self.quantity_on_hand, self.product.reorder_point, self.product.reorder_quantity
        )


def quantity_to_order(on_hand: int, reorder_point: int, reorder_quantity: int) -> int:
    """The reorder quantity, or, when that would not lift stock above the reorder point, just enough to."""
    return max(reorder_quantity, reorder_point - on_hand + 1)


def _on_hand(warehouse_id: int | None) -> ColumnElement[int]:
    """A product's quantity on hand (in one warehouse, or in all), for use in a query on products."""
    total = select(func.coalesce(func.sum(StockLevel.quantity), 0)).where(StockLevel.product_id == Product.id)
    if warehouse_id is not None:
        total = total.where(StockLevel.warehouse_id == warehouse_id)
    return total.scalar_subquery()


def low_stock_conditions(warehouse_id: int | None) -> list[ColumnElement[bool]]:
    """Active products with a reorder point whose stock is at or below it.

    A reorder point of 0 (the default) means the product is not reordered. For one warehouse, only
    products it holds or has held (it has a stock level for them) count: a warehouse that never
    carried a product is not short of it.
    """
    conditions = [Product.is_active, Product.reorder_point > 0, _on_hand(warehouse_id) <= Product.reorder_point]
    if warehouse_id is not None:
        held = select(StockLevel.product_id).where(StockLevel.warehouse_id == warehouse_id)
        conditions.append(Product.id.in_(held))
    return conditions


async def low_stock_page(session: AsyncSession, *, warehouse_id: int | None, window: Window) -> Page[LowStockRow]:
    """One page of the products to reorder, by name, with their quantity on hand."""
    stmt = select_rows(Product).where(*low_stock_conditions(warehouse_id))
    page = await fetch_page(session, stmt, LOW_STOCK_SORT, window)
    if not page.rows:
        return Page([], [], page.has_next_page, page.has_previous_page)
    quantity = func.coalesce(func.sum(StockLevel.quantity), 0)
    stmt = (
        select(StockLevel.product_id, quantity)
        .where(one_of(session, StockLevel.product_id, [p.id for p in page.rows]))
        .group_by(StockLevel.product_id)
    )
    if warehouse_id is not None:
        stmt = stmt.where(StockLevel.warehouse_id == warehouse_id)
    on_hand = {product_id: n for product_id, n in (await session.execute(stmt)).all()}
    rows = [LowStockRow(p, warehouse_id, on_hand.get(p.id, 0)) for p in page.rows]
    return Page(rows, page.keys, page.has_next_page, page.has_previous_page)


async def low_stock_count(session: AsyncSession, *, warehouse_id: int | None) -> int:
    return await count_where(session, Product, low_stock_conditions(warehouse_id))


# --- valuation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryValue:
    category_id: int | None
    quantity: int
    value: Decimal


@dataclass(frozen=True)
class Valuation:
    total_quantity: int
    total_value: Decimal
    by_category: list[CategoryValue]


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, ROUND_HALF_UP)


async def inventory_valuation(
    session: AsyncSession, *, warehouse_id: int | None = None, category_id: int | None = None
) -> Valuation:
    """Stock on hand valued at each product's average cost, in total and per product category.

    `category_id` takes in its subcategories; products of any status count, since their stock is
    there either way. Values are summed exactly and rounded to cents once, at the end, so the
    categories' values may differ from the total by rounding.
    """
    conditions: list[ColumnElement[bool]] = [StockLevel.quantity > 0]
    if warehouse_id is not None:
        conditions.append(StockLevel.warehouse_id == warehouse_id)
    if category_id is not None:
        conditions.append(Product.category_id.in_(subtree_ids(category_id)))
    stmt = (
        select(
            Category.id,
            func.sum(StockLevel.quantity),
            type_coerce(func.sum(StockLevel.quantity * Product.average_cost), _VALUE),
        )
        .join(Product, Product.id == StockLevel.product_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(*conditions)
        .group_by(Category.id, Category.name)
        .order_by(Category.id.is_(None), Category.name, Category.id)
    )
    groups = (await session.execute(stmt)).all()
    total_value = sum((value for _, _, value in groups), Decimal(0))
    return Valuation(
        total_quantity=sum(quantity for _, quantity, _ in groups),
        total_value=_cents(total_value),
        by_category=[CategoryValue(cid, quantity, _cents(value)) for cid, quantity, value in groups],
    )


# --- movements ----------------------------------------------------------------------------------


class MovementGroup(Enum):
    PRODUCT = "PRODUCT"
    CATEGORY = "CATEGORY"
    WAREHOUSE = "WAREHOUSE"


@dataclass(frozen=True)
class Movements:
    """Units moved in a period by one group; out-going columns are positive counts of units.

    `net` is the signed sum of every entry, the change in stock over the period:
    received + returned - shipped + adjusted + transferred_in - transferred_out.
    """

    group_id: int | None
    received: int
    returned: int
    shipped: int
    adjusted: int
    transferred_in: int
    transferred_out: int
    net: int


def _sum_of(kind: TransactionKind) -> ColumnElement[int]:
    return func.coalesce(
        func.sum(case((InventoryTransaction.kind == kind, InventoryTransaction.quantity), else_=0)), 0
    )


async def stock_movements(
    session: AsyncSession,
    *,
    group_by: MovementGroup,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    warehouse_id: int | None = None,
    category_id: int | None = None,
) -> list[Movements]:
    """Per product, category or warehouse: what the ledger moved from `created_from` (inclusive) to
    `created_to` (exclusive). Only groups with entries in the period appear, ordered by name.

    Received counts RECEIPT entries, returned RETURN entries (signed: units back in are positive),
    adjusted is the signed sum of ADJUSTMENT entries. Transfers have their own columns: grouped by
    product or category, a transfer shows in both and leaves `net` unchanged.
    """
    conditions: list[ColumnElement[bool]] = []
    if created_from is not None:
        conditions.append(InventoryTransaction.created_at >= created_from)
    if created_to is not None:
        conditions.append(InventoryTransaction.created_at < created_to)
    if warehouse_id is not None:
        conditions.append(InventoryTransaction.warehouse_id == warehouse_id)
    if category_id is not None:
        conditions.append(Product.category_id.in_(subtree_ids(category_id)))
    sums = (
        _sum_of(TransactionKind.RECEIPT),
        _sum_of(TransactionKind.RETURN),
        -_sum_of(TransactionKind.SHIPMENT),
        _sum_of(TransactionKind.ADJUSTMENT),
        _sum_of(TransactionKind.TRANSFER_IN),
        -_sum_of(TransactionKind.TRANSFER_OUT),
        func.sum(InventoryTransaction.quantity),
    )
    joined = select(InventoryTransaction).join(Product, Product.id == InventoryTransaction.product_id)
    group: Any
    if group_by is MovementGroup.PRODUCT:
        group, name = Product.id, Product.name
    elif group_by is MovementGroup.CATEGORY:
        joined = joined.outerjoin(Category, Category.id == Product.category_id)
        group, name = Category.id, Category.name
    else:
        joined = joined.join(Warehouse, Warehouse.id == InventoryTransaction.warehouse_id)
        group, name = Warehouse.id, Warehouse.name
    stmt = (
        joined.with_only_columns(group, *sums)
        .where(*conditions)
        .group_by(group, name)
        .order_by(group.is_(None), name, group)
    )
    return [Movements(*row) for row in (await session.execute(stmt)).all()]

