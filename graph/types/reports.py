"""Report types: products to reorder, inventory valuation and stock movements."""

from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from db import reports
from db.models import AdjustmentReason
from graph.relations import Relation
from graph.scalars import Long
from graph.types.catalog import Category, Product, ProductSupplier
from graph.types.stock import WAREHOUSE_OF_ROW, Warehouse


def _preferred(offers: list[ProductSupplier]) -> ProductSupplier | None:
    """The preferred offer: the loader puts it first."""
    return offers[0] if offers and offers[0].is_preferred else None


PREFERRED_OFFER = Relation(
    lambda loaders: loaders.offers_by_product_id, lambda item, _settings: (item.product.pk,), finish=_preferred
)
CATEGORY_OF_VALUATION = Relation(lambda loaders: loaders.category_by_id, lambda row, _settings: row.category_pk)


@strawberry.type(
    description="A product whose stock position (available + on order) is at or below its reorder point, and "
    "how many to order."
)
class LowStockItem:
    product: Product = strawberry.field(description="The product to reorder.")
    quantity_on_hand: Long = strawberry.field(
        description="Units on hand in the warehouse asked for, or over all warehouses."
    )
    quantity_available: Long = strawberry.field(
        description="Units on hand not set aside for anyone, in the warehouse asked for or over all warehouses."
    )
    quantity_reserved: Long = strawberry.field(
        description="Units on hand set aside, so not available: quantityOnHand - quantityAvailable."
    )
    quantity_on_order: Long = strawberry.field(
        description="The product's `quantityOnOrder`: units on submitted orders not yet received. Orders name no "
        "warehouse, so a warehouse's report counts all of them."
    )
    reorder_point: int = strawberry.field(description="The product's `reorderPoint`.")
    reorder_quantity: int = strawberry.field(description="The product's `reorderQuantity`.")
    quantity_to_order: int = strawberry.field(
        description="Units that lift quantityAvailable + quantityOnOrder above the reorder point, rounded up to "
        "whole reorderQuantity lots (at least one); with a reorderQuantity of 0, just enough. What "
        "`draftPurchaseOrdersFromLowStock` orders when no draft covers the product yet."
    )
    warehouse_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: reports.LowStockRow) -> "LowStockItem":
        return cls(
            product=Product.from_model(row.product),
            warehouse_pk=row.warehouse_id,
            quantity_on_hand=row.quantity_on_hand,
            quantity_available=row.quantity_available,
            quantity_reserved=row.quantity_reserved,
            quantity_on_order=row.quantity_on_order,
            reorder_point=row.product.reorder_point,
            reorder_quantity=row.product.reorder_quantity,
            quantity_to_order=row.quantity_to_order,
        )

    @strawberry.field(description="The warehouse asked for; null when the report covers all warehouses.")
    def warehouse(self, info: Info) -> Warehouse | None:
        return WAREHOUSE_OF_ROW.resolve(self, info)

    @strawberry.field(description="The preferred supplier's terms (supplier, unit cost, lead time); null if none.")
    def preferred_supplier(self, info: Info) -> ProductSupplier | None:
        return PREFERRED_OFFER.resolve(self, info)


@strawberry.type(description="Stock of one category's products (its own, not its subcategories').")
class CategoryValuation:
    quantity: Long = strawberry.field(description="Units on hand of the category's products.")
    value: Decimal = strawberry.field(description="Their value at average cost, rounded to 2 decimal places.")
    category_pk: strawberry.Private[int | None]

    @strawberry.field(description="Null for products without a category.")
    def category(self, info: Info) -> Category | None:
        return CATEGORY_OF_VALUATION.resolve(self, info)


@strawberry.type(
    description="Stock on hand valued at each product's average cost. Values are exact sums rounded to "
    "cents at the end, so the categories' values may differ from the total by rounding."
)
class InventoryValuation:
    total_quantity: Long = strawberry.field(description="Units on hand of every product counted.")
    total_value: Decimal = strawberry.field(
        description="Their value at average cost, rounded to 2 decimal places."
    )
    by_category: list[CategoryValuation] = strawberry.field(description="By category name; uncategorized last.")

    @classmethod
    def of(cls, valuation: reports.Valuation) -> "InventoryValuation":
        return cls(
            total_quantity=valuation.total_quantity,
            total_value=valuation.total_value,
            by_category=[
                CategoryValuation(category_pk=c.category_id, quantity=c.quantity, value=c.value)
                for c in valuation.by_category
            ],
        )


@strawberry.enum(description="What stock movements are totalled by.")
class MovementGroupBy(Enum):
    PRODUCT = strawberry.enum_value("PRODUCT", description="One row per product; `product` is set.")
    CATEGORY = strawberry.enum_value(
        "CATEGORY",
        description="One row per category of the products moved (its own products, not its subcategories'); "
        "`category` is set, or null for products without a category.",
    )
    WAREHOUSE = strawberry.enum_value("WAREHOUSE", description="One row per warehouse; `warehouse` is set.")



def _group(group_by: MovementGroupBy) -> Any:
    """A movement row's group, when the rows are grouped by `group_by`."""
    return lambda row, _settings: row.group_pk if row.group_by is group_by else None


MOVEMENT_PRODUCT = Relation(lambda loaders: loaders.product_by_id, _group(MovementGroupBy.PRODUCT))
MOVEMENT_CATEGORY = Relation(lambda loaders: loaders.category_by_id, _group(MovementGroupBy.CATEGORY))
MOVEMENT_WAREHOUSE = Relation(lambda loaders: loaders.warehouse_by_id, _group(MovementGroupBy.WAREHOUSE))

def _by_reason(reason: str) -> Any:
    return strawberry.field(description=f"Net change by ADJUSTMENT entries recorded with reason {reason} (signed).")


@strawberry.type(
    description="The net change by stock counts (`adjusted`) split by the adjustments' reasons "
    "(`adjustStock(input: {reason})`); the fields add up to `adjusted`."
)
class AdjustmentsByReason:
    cycle_count: Long = _by_reason("CYCLE_COUNT")
    damaged: Long = _by_reason("DAMAGED")
    lost: Long = _by_reason("LOST")
    found: Long = _by_reason("FOUND")
    expired: Long = _by_reason("EXPIRED")
    correction: Long = _by_reason("CORRECTION")
    not_recorded: Long = strawberry.field(
        description="Net change by ADJUSTMENT entries without a reason: those recorded before reasons were "
        "(signed)."
    )

    @classmethod
    def of(cls, sums: tuple[int, ...]) -> "AdjustmentsByReason":
        """From db.reports.Movements.adjusted_by_reason: the reasons' sums in their order, then the unrecorded."""
        *reasons, unrecorded = sums
        names = [reason.value.lower() for reason in AdjustmentReason]
        return cls(**dict(zip(names, reasons, strict=True)), not_recorded=unrecorded)


@strawberry.type(
    description="Units moved in a period by one product, category or warehouse (the field for the "
    "grouping asked for is set). Outgoing columns count units, so they are not negative."
)
class StockMovementSummary:
    received: Long = strawberry.field(description="Units received (RECEIPT entries).")
    returned: Long = strawberry.field(description="Units returned into stock (RETURN entries, signed).")
    shipped: Long = strawberry.field(description="Units shipped (SHIPMENT entries).")
    adjusted: Long = strawberry.field(description="Net change by stock counts (ADJUSTMENT entries, signed).")
    transferred_in: Long = strawberry.field(description="Units transferred in (TRANSFER_IN entries).")
    transferred_out: Long = strawberry.field(description="Units transferred out (TRANSFER_OUT entries).")
    net: Long = strawberry.field(
        description="Change in stock: received + returned - shipped + adjusted + transferredIn - transferredOut."
    )
    adjusted_by_reason: AdjustmentsByReason = strawberry.field(
        description="`adjusted` split by the adjustments' reasons."
    )
    group_by: strawberry.Private[MovementGroupBy]
    group_pk: strawberry.Private[int | None]

    @classmethod
    def of(cls, row: reports.Movements, group_by: MovementGroupBy) -> "StockMovementSummary":
        return cls(
            group_by=group_by,
            group_pk=row.group_id,
            received=row.received,
            returned=row.returned,
            shipped=row.shipped,
            adjusted=row.adjusted,
            transferred_in=row.transferred_in,
            transferred_out=row.transferred_out,
            net=row.net,
            adjusted_by_reason=AdjustmentsByReason.of(row.adjusted_by_reason),
        )

    @strawberry.field(description="With groupBy PRODUCT: the product; null otherwise.")
    def product(self, info: Info) -> Product | None:
        return MOVEMENT_PRODUCT.resolve(self, info)

    @strawberry.field(description="With groupBy CATEGORY; null there for products without a category.")
    def category(self, info: Info) -> Category | None:
        return MOVEMENT_CATEGORY.resolve(self, info)

    @strawberry.field(description="With groupBy WAREHOUSE: the warehouse; null otherwise.")
    def warehouse(self, info: Info) -> Warehouse | None:
        return MOVEMENT_WAREHOUSE.resolve(self, info)
