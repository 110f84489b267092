"""Stock reports computed by SQL aggregates: products to reorder, inventory valuation, stock movements."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.binds import Bind, with_values
from db.catalog_reads import product_sort, subtree_ids
from db.models import (
    AdjustmentReason,
    Category,
    InventoryTransaction,
    Product,
    StockLevel,
    TransactionKind,
    Warehouse,
)
from db.pagination import Page, Window, count_where, fetch_page
from db.purchasing_reads import on_order
from db.rows import one_of, select_rows
from db.selling_reads import held
from db.types import EXACT, Money, money_sum

CENT = Decimal("0.01")
# quantity × average cost, summed: exact at four places (the scale of average_cost) on both databases
# (`money_sum`); the precision is only what PostgreSQL is told, no limit on what the sum may reach.
_VALUE = Money(38, 4)
LOW_STOCK_SORT = product_sort()


# --- low stock ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LowStockRow:
    product: Product
    warehouse_id: int | None
    quantity_on_hand: int
    quantity_available: int
    quantity_on_order: int

    @property
    def quantity_reserved(self) -> int:
        return self.quantity_on_hand - self.quantity_available

    @property
    def quantity_to_order(self) -> int:
        return quantity_to_order(
            self.quantity_available + self.quantity_on_order, self.product.reorder_point, self.product.reorder_quantity
        )


def quantity_to_order(position: int, reorder_point: int, reorder_quantity: int) -> int:
    """Units to order for a product whose stock position (available + on order) is `position`: enough to lift it
    above the reorder point, rounded up to whole reorder quantities (at least one); with a reorder quantity
    of 0, just enough. `lowStock` suggests it and `draftPurchaseOrdersFromLowStock` orders it."""
    shortfall = reorder_point - position + 1
    if reorder_quantity <= 0:
        return shortfall
    return -(-shortfall // reorder_quantity) * reorder_quantity


@dataclass(frozen=True)
class LowStockFilter:
    """The low-stock report of one warehouse, or of all of them; `drafts` counts draft orders as on order
    (reordering does, so that it does not order twice what it drafted before)."""

    warehouse_id: int | None = None
    drafts: bool = False


def _levels(product_id: ColumnElement[int], warehouse_id: Any, quantity: ColumnElement[int]) -> ColumnElement[int]:
    total = select(func.coalesce(func.sum(quantity), 0)).where(StockLevel.product_id == product_id)
    if warehouse_id is not None:
        total = total.where(StockLevel.warehouse_id == warehouse_id)
    return total.scalar_subquery()


def on_hand(product_id: ColumnElement[int], warehouse_id: Any = None) -> ColumnElement[int]:
    """A product's quantity on hand (in one warehouse, or in all), for use in a query on products;
    `warehouse_id` may be a value or a SQL expression."""
    return _levels(product_id, warehouse_id, StockLevel.quantity)


def available(product_id: ColumnElement[int], warehouse_id: Any = None) -> ColumnElement[int]:
    """A product's available quantity, as `on_hand`: on hand less what open holds keep (an expired hold keeps
    nothing, swept or not: db.selling_reads.held)."""
    return on_hand(product_id, warehouse_id) - held(product_id, warehouse_id)


def low_stock_conditions(
    spec: LowStockFilter, bind: Bind | None = None, product: Any = Product
) -> list[ColumnElement[bool]]:
    """Active products with a reorder point whose stock position, available + on order, is at or below it.

    A reorder point of 0 (the default) means the product is not reordered. For one warehouse, only
    products it holds or has held (it has a stock level for them) count: a warehouse that never
    carried a product is not short of it. Orders name no warehouse, so a warehouse's position counts all
    of the product's units on order. (`bind` and `product` as in db/catalog_reads.py.)
    """
    bind = bind or with_values(spec)
    warehouse = None if spec.warehouse_id is None else bind("warehouse_id", lambda s: s.warehouse_id)
    in_stock = available(product.id, warehouse)
    conditions = [
        product.is_active,
        product.reorder_point > 0,
        # Units on order only ever lift the position: the products with enough available (nearly all)
        # are passed without reading their orders.
        in_stock <= product.reorder_point,
        in_stock + on_order(product.id, drafts=spec.drafts) <= product.reorder_point,
    ]
    if warehouse is not None:
        held = select(StockLevel.product_id).where(StockLevel.warehouse_id == warehouse)
        conditions.append(product.id.in_(held))
    return conditions


async def low_stock_page(session: AsyncSession, *, warehouse_id: int | None, window: Window) -> Page[LowStockRow]:
    """One page of the products to reorder, by name, with their quantities on hand, available and on order."""
    stmt = select_rows(Product).where(*low_stock_conditions(LowStockFilter(warehouse_id)))
    page = await fetch_page(session, stmt, LOW_STOCK_SORT, window)
    if not page.rows:
        return Page([], [], page.has_next_page, page.has_previous_page, page.order)
    stmt = select(
        Product.id, on_hand(Product.id, warehouse_id), available(Product.id, warehouse_id), on_order(Product.id)
    ).where(one_of(session, Product.id, [p.id for p in page.rows]))
    quantities = {pid: (held, free, ordered) for pid, held, free, ordered in (await session.execute(stmt)).all()}
    rows = [LowStockRow(p, warehouse_id, *quantities[p.id]) for p in page.rows]
    return Page(rows, page.keys, page.has_next_page, page.has_previous_page, page.order)


async def low_stock_count(session: AsyncSession, *, warehouse_id: int | None) -> int:
    return await count_where(session, Product, low_stock_conditions(LowStockFilter(warehouse_id)))


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


def cents(amount: Decimal) -> Decimal:
    with localcontext(EXACT):  # however many digits the amount has
        return amount.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class ValuationFilter:
    warehouse_id: int | None = None
    category_id: int | None = None  # with its subcategories


def valuation_groups(spec: ValuationFilter, bind: Bind | None = None) -> Select[Any]:
    """The valuation's rows, one per category (null for products without one), by category name:
    category id, quantity on hand, its value summed exactly, and the row's position (`ordinal`, for a
    query that lists the rows in order); `bind` as in db/catalog_reads.py."""
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = [StockLevel.quantity > 0]
    if spec.warehouse_id is not None:
        conditions.append(StockLevel.warehouse_id == bind("warehouse_id", lambda s: s.warehouse_id))
    if spec.category_id is not None:
        category = bind("category_id", lambda s: s.category_id, Category.id.type)
        conditions.append(Product.category_id.in_(subtree_ids(category)))
    order = (Category.id.is_(None), Category.name, Category.id)
    return (
        select(
            Category.id.label("category_id"),
            func.sum(StockLevel.quantity).label("quantity"),
            money_sum(StockLevel.quantity, Product.average_cost, type_=_VALUE).label("value"),
            func.row_number().over(order_by=order).label("ordinal"),
        )
        .join(Product, Product.id == StockLevel.product_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(*conditions)
        .group_by(Category.id, Category.name)
        .order_by(*order)
    )


def valuation_of(groups: Sequence[tuple[int | None, int, Decimal]]) -> Valuation:
    """The valuation from its rows (`valuation_groups`): totals, and every value rounded to cents."""
    with localcontext(EXACT):  # Python's default context would round the sum to 28 significant digits
        total_value = sum((value for _, _, value in groups), Decimal(0))
    return Valuation(
        total_quantity=sum(quantity for _, quantity, _ in groups),
        total_value=cents(total_value),
        by_category=[CategoryValue(cid, quantity, cents(value)) for cid, quantity, value in groups],
    )


async def inventory_valuation(
    session: AsyncSession, *, warehouse_id: int | None = None, category_id: int | None = None
) -> Valuation:
    """Stock on hand valued at each product's average cost, in total and per product category.

    `category_id` takes in its subcategories; products of any status count, since their stock is
    there either way. Values are summed exactly and rounded to cents once, at the end, so the
    categories' values may differ from the total by rounding.
    """
    groups = (await session.execute(valuation_groups(ValuationFilter(warehouse_id, category_id)))).all()
    return valuation_of([(group.category_id, group.quantity, group.value) for group in groups])


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
    # `adjusted` split by the entries' reasons, in AdjustmentReason's order, then the adjustments recorded
    # before reasons were (reason null): together they sum to `adjusted`.
    adjusted_by_reason: tuple[int, ...] = ()


def _sum_of(kind: TransactionKind) -> ColumnElement[int]:
    return func.coalesce(
        func.sum(case((InventoryTransaction.kind == kind, InventoryTransaction.quantity), else_=0)), 0
    )


# The columns of `movement_rows` with the adjustments of each reason, and of none (`adjusted_unrecorded`).
REASON_COLUMNS = {reason: f"adjusted_{reason.value.lower()}" for reason in AdjustmentReason}
UNRECORDED_COLUMN = "adjusted_unrecorded"


def _adjusted_for(reason: AdjustmentReason | None) -> ColumnElement[int]:
    entry = InventoryTransaction
    has_reason = entry.reason.is_(None) if reason is None else entry.reason == reason
    adjustment = and_(entry.kind == TransactionKind.ADJUSTMENT, has_reason)
    return func.coalesce(func.sum(case((adjustment, entry.quantity), else_=0)), 0)


@dataclass(frozen=True)
class MovementFilter:
    """Entries from `created_from` (inclusive) to `created_to` (exclusive), of one warehouse and of one
    category's subtree if given, totalled per `group_by`."""

    group_by: MovementGroup
    created_from: datetime | None = None
    created_to: datetime | None = None
    warehouse_id: int | None = None
    category_id: int | None = None


def movement_rows(spec: MovementFilter, bind: Bind | None = None) -> Select[Any]:
    """The rows of `stock_movements` (group id, then the `Movements` columns), ordered by group name, with
    their positions (`ordinal`)."""
    bind = bind or with_values(spec)
    entry = InventoryTransaction
    conditions: list[ColumnElement[bool]] = []
    if spec.created_from is not None:
        conditions.append(entry.created_at >= bind("created_from", lambda s: s.created_from))
    if spec.created_to is not None:
        conditions.append(entry.created_at < bind("created_to", lambda s: s.created_to))
    if spec.warehouse_id is not None:
        conditions.append(entry.warehouse_id == bind("warehouse_id", lambda s: s.warehouse_id))
    if spec.category_id is not None:
        category = bind("category_id", lambda s: s.category_id, Category.id.type)
        conditions.append(Product.category_id.in_(subtree_ids(category)))
    sums = (
        _sum_of(TransactionKind.RECEIPT).label("received"),
        _sum_of(TransactionKind.RETURN).label("returned"),
        (-_sum_of(TransactionKind.SHIPMENT)).label("shipped"),
        _sum_of(TransactionKind.ADJUSTMENT).label("adjusted"),
        _sum_of(TransactionKind.TRANSFER_IN).label("transferred_in"),
        (-_sum_of(TransactionKind.TRANSFER_OUT)).label("transferred_out"),
        func.sum(entry.quantity).label("net"),
        *(_adjusted_for(reason).label(column) for reason, column in REASON_COLUMNS.items()),
        _adjusted_for(None).label(UNRECORDED_COLUMN),
    )
    joined = select(entry).join(Product, Product.id == entry.product_id)
    group: Any
    if spec.group_by is MovementGroup.PRODUCT:
        group, name = Product.id, Product.name
    elif spec.group_by is MovementGroup.CATEGORY:
        joined = joined.outerjoin(Category, Category.id == Product.category_id)
        group, name = Category.id, Category.name
    else:
        joined = joined.join(Warehouse, Warehouse.id == entry.warehouse_id)
        group, name = Warehouse.id, Warehouse.name
    order = (group.is_(None), name, group)
    ordinal = func.row_number().over(order_by=order).label("ordinal")
    return (
        joined.with_only_columns(group.label("group_id"), *sums, ordinal)
        .where(*conditions)
        .group_by(group, name)
        .order_by(*order)
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
    adjusted is the signed sum of ADJUSTMENT entries, and adjusted_by_reason the same split by their reasons.
    Transfers have their own columns: grouped by
    product or category, a transfer shows in both and leaves `net` unchanged.
    """
    spec = MovementFilter(group_by, created_from, created_to, warehouse_id, category_id)
    fixed = len(Movements.__dataclass_fields__) - 1  # the columns before the reasons'
    return [
        Movements(*row[:fixed], adjusted_by_reason=tuple(row[fixed:-1]))
        for row in (await session.execute(movement_rows(spec))).all()
    ]
