"""Read queries for purchase orders: list filters, the list's order, look-ups by number and the units on
order."""

from dataclasses import dataclass
from typing import Any

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.binds import Bind, with_values
from db.models import Product, PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from db.pagination import SortKey
from db.rows import fetch_row, one_of, select_rows

# Submitted orders whose goods have not all arrived: their outstanding units are on order. A draft has
# not been sent to anyone; a cancelled order never had anything received (db/purchasing.py), a received
# one has nothing outstanding.
OPEN_STATUSES = (PurchaseOrderStatus.ORDERED, PurchaseOrderStatus.PARTIALLY_RECEIVED)
# What reordering counts as already in the pipeline: open orders and drafts, so that drafting orders for
# what is low twice does not order it twice (db/reordering.py).
PIPELINE_STATUSES = (PurchaseOrderStatus.DRAFT, *OPEN_STATUSES)

# Newest first: ids grow with creation.
PURCHASE_ORDER_SORT = SortKey((PurchaseOrder.id,), descending=True)


@dataclass(frozen=True)
class PurchaseOrderFilter:
    status: PurchaseOrderStatus | None = None
    supplier_id: int | None = None
    product_id: int | None = None


def purchase_order_conditions(
    spec: PurchaseOrderFilter, bind: Bind | None = None, order: Any = PurchaseOrder
) -> list[ColumnElement[bool]]:
    """(`order`: the entity, as in db/catalog_reads.py.)"""
    bind = bind or with_values(spec)
    conditions: list[ColumnElement[bool]] = []
    if spec.status is not None:
        conditions.append(order.status == bind("status", lambda s: s.status))
    if spec.supplier_id is not None:
        conditions.append(order.supplier_id == bind("supplier_id", lambda s: s.supplier_id))
    if spec.product_id is not None:
        product = bind("product_id", lambda s: s.product_id)
        ordering = select(PurchaseOrderLine.purchase_order_id).where(PurchaseOrderLine.product_id == product)
        conditions.append(order.id.in_(ordering))
    return conditions


async def purchase_order_by_number(session: AsyncSession, number: str) -> Any:
    stmt = select_rows(PurchaseOrder).where(PurchaseOrder.number == number.strip().upper())
    return await fetch_row(session, stmt)


def on_order(product_id: ColumnElement[int], *, drafts: bool = False) -> ColumnElement[int]:
    """A product's units on order (ordered less received, over the lines of open orders; with `drafts`, of
    drafts too), for use in a query on products. Orders name no warehouse (goods go where they are received),
    so this is the product's over all warehouses."""
    statuses = PIPELINE_STATUSES if drafts else OPEN_STATUSES
    line = PurchaseOrderLine
    return (
        select(func.coalesce(func.sum(line.quantity_ordered - line.quantity_received), 0))
        .join(PurchaseOrder, PurchaseOrder.id == line.purchase_order_id)
        # One comparison per status rather than IN: a plan's statement takes no list parameters.
        .where(line.product_id == product_id, or_(*(PurchaseOrder.status == status for status in statuses)))
        .scalar_subquery()
    )


async def on_order_by_product_ids(session: AsyncSession, product_ids: Sequence[int]) -> dict[int, int]:
    """Units on order of each product (`on_order`)."""
    stmt = select(Product.id, on_order(Product.id)).where(one_of(session, Product.id, product_ids))
    return {product_id: n for product_id, n in (await session.execute(stmt)).all()}
