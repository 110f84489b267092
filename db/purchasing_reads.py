"""Read queries for purchase orders: list filters, the list's order and look-ups by number."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

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


def purchase_order_conditions(spec: PurchaseOrderFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if spec.status is not None:
        conditions.append(PurchaseOrder.status == spec.status)
    if spec.supplier_id is not None:
        conditions.append(PurchaseOrder.supplier_id == spec.supplier_id)
    if spec.product_id is not None:
        ordering = select(PurchaseOrderLine.purchase_order_id).where(PurchaseOrderLine.product_id == spec.product_id)
        conditions.append(PurchaseOrder.id.in_(ordering))
    return conditions


async def purchase_order_by_number(session: AsyncSession, number: str) -> Any:
    stmt = select_rows(PurchaseOrder).where(PurchaseOrder.number == number.strip().upper())
    return await fetch_row(session, stmt)
