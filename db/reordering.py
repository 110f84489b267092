"""Reordering: draft purchase orders for what a warehouse is short of, from each product's preferred supplier."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import reports
from db.catalog import MAX_QUANTITY
from db.errors import Invalid, NotFound
from db.models import Product, ProductSupplier, PurchaseOrder, Supplier, Warehouse
from db.purchasing import MAX_LINES, create_purchase_order
from db.types import utcnow


@dataclass
class Drafts:
    """What drafting did: the orders it created (by supplier name) and the low products it could not order
    because they have no preferred supplier, or only an archived one (by name)."""

    orders: list[PurchaseOrder] = field(default_factory=list)
    unsupplied: list[Product] = field(default_factory=list)


@dataclass(frozen=True)
class _Need:
    product: Product
    quantity: int
    lead_time_days: int


async def draft_purchase_orders_from_low_stock(
    session: AsyncSession, *, warehouse_id: int, created_by_id: int | None = None
) -> Drafts:
    """Draft one order per preferred supplier for the products low in the warehouse (db.reports'
    `low_stock_conditions`, counting drafts as on order), each line the product's `quantity_to_order` at the
    supplier's cost, expected after the longest lead time of its lines.

    Drafts count as on order here, so a second call drafts only what the first did not cover. Nothing is
    created when nothing is low."""
    # PostgreSQL: drafting for one warehouse takes turns, so that two calls cannot both find nothing drafted
    # and both order it (SQLite serializes write transactions at BEGIN).
    warehouse = await session.scalar(select(Warehouse).where(Warehouse.id == warehouse_id).with_for_update())
    if warehouse is None:
        raise NotFound("There is no warehouse with this ID.", field="warehouseId")
    if not warehouse.is_active:
        raise Invalid(f"Warehouse {warehouse.code} is archived; nothing is reordered for it.", field="warehouseId")

    spec = reports.LowStockFilter(warehouse.id, drafts=True)
    position = reports.available(Product.id, warehouse.id) + reports.on_order(Product.id, drafts=True)
    low = (
        select(Product, position, ProductSupplier, Supplier)
        .outerjoin(ProductSupplier, (ProductSupplier.product_id == Product.id) & ProductSupplier.is_preferred)
        .outerjoin(Supplier, Supplier.id == ProductSupplier.supplier_id)
        .where(*reports.low_stock_conditions(spec))
        .order_by(*reports.LOW_STOCK_SORT.order_by())
    )
    drafts = Drafts()
    needs: dict[int, list[_Need]] = defaultdict(list)
    suppliers: dict[int, Supplier] = {}
    for product, stock_position, offer, supplier in (await session.execute(low)).all():
        if offer is None or not supplier.is_active:
            drafts.unsupplied.append(product)
            continue
        quantity = reports.quantity_to_order(stock_position, product.reorder_point, product.reorder_quantity)
        suppliers[supplier.id] = supplier
        needs[supplier.id].append(_Need(product, quantity, offer.lead_time_days))

    today = utcnow().date()
    for supplier in sorted(suppliers.values(), key=lambda s: (s.name, s.id)):
        _refuse_too_many(needs[supplier.id])
        # An order takes at most MAX_LINES lines; a supplier with more low products gets several.
        for start in range(0, len(needs[supplier.id]), MAX_LINES):
            lines = needs[supplier.id][start:start + MAX_LINES]
            order = await create_purchase_order(
                session,
                supplier_id=supplier.id,
                # At the supplier's terms: create_purchase_order takes the unit cost from them.
                lines=[{"product_id": need.product.id, "quantity": need.quantity} for need in lines],
                expected_date=today + timedelta(days=max(need.lead_time_days for need in lines)),
                note=f"Drafted for the low stock of warehouse {warehouse.code}.",
                created_by_id=created_by_id,
            )
            drafts.orders.append(order)
    return drafts


def _refuse_too_many(lines: list[_Need]) -> None:
    for need in lines:
        if need.quantity > MAX_QUANTITY:
            raise Invalid(
                f"{need.product.sku} would need {need.quantity:,} units, more than one order line may take "
                f"({MAX_QUANTITY:,}); lower its reorder point or reorder quantity.",
                field="warehouseId",
            )

