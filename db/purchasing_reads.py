"""Read queries for purchase orders: list filters, the list's order and look-ups by number."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.binds import Bind, with_values
from db.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from db.pagination import SortKey
from db.rows import fetch_row, select_rows

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
