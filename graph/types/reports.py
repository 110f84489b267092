"""Report types: products to reorder, inventory valuation and stock movements."""

from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

import strawberry
from strawberry.types import Info

from db import reports
from graph.types.catalog import Category, Product, ProductSupplier
from graph.types.stock import Warehouse

if TYPE_CHECKING:
    from graph.context import Context


def _context(info: Info) -> "Context":
    return info.context


@strawberry.type(description="A product at or below its reorder point, and how many to order.")
class LowStockItem:
    product: Product
    quantity_on_hand: int = strawberry.field(
        description="Units on hand in the warehouse asked for, or over all warehouses."
    )
    reorder_point: int
    reorder_quantity: int
    quantity_to_order: int = strawberry.field(
        description="reorderQuantity, or more if that would not lift stock above the reorder point: "
        "max(reorderQuantity, reorderPoint - quantityOnHand + 1)."
    )
    warehouse_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: reports.LowStockRow) -> "LowStockItem":
        return cls(
            product=Product.from_model(row.product),
            warehouse_pk=row.warehouse_id,
            quantity_on_hand=row.quantity_on_hand,
            reorder_point=row.product.reorder_point,
            reorder_quantity=row.product.reorder_quantity,
            quantity_to_order=row.quantity_to_order,
        )

    @strawberry.field(description="The warehouse asked for; null when the report covers all warehouses.")
    def warehouse(self, info: Info) -> Warehouse | None:
        if self.warehouse_pk is None:
            return None
        return _context(info).loaders.warehouse_by_id.load(self.warehouse_pk)

    @strawberry.field(description="The preferred supplier's terms (supplier, unit cost, lead time); null if none.")
    async def preferred_supplier(self, info: Info) -> ProductSupplier | None:
        offers = await _context(info).loaders.offers_by_product_id.load((self.product.pk,))
        # The loader puts the preferred offer first.
        return offers[0] if offers and offers[0].is_preferred else None


@strawberry.type(description="Stock of one category's products (its own, not its subcategories').")
class CategoryValuation:
    quantity: int
    value: Decimal
    category_pk: strawberry.Private[int | None]

    @strawberry.field(description="Null for products without a category.")
    def category(self, info: Info) -> Category | None:
        if self.category_pk is None:
            return None
        return _context(info).loaders.category_by_id.load(self.category_pk)


@strawberry.type(
    description="Stock on hand valued at each product's average cost. Values are exact sums rounded to "
    "cents at the end, so the categories' values may differ from the total by rounding."
)
class InventoryValuation:
    total_quantity: int
    total_value: Decimal
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
    PRODUCT = "PRODUCT"
    CATEGORY = "CATEGORY"
    WAREHOUSE = "WAREHOUSE"


@strawberry.type(
    description="Units moved in a period by one product, category or warehouse (the field for the "
    "grouping asked for is set). Outgoing columns count units, so they are not negative."
)
class StockMovementSummary:
    received: int = strawberry.field(description="Units received (RECEIPT entries).")
    returned: int = strawberry.field(description="Units returned into stock (RETURN entries, signed).")
    shipped: int = strawberry.field(description="Units shipped (SHIPMENT entries).")
    adjusted: int = strawberry.field(description="Net change by stock counts (ADJUSTMENT entries, signed).")
    transferred_in: int = strawberry.field(description="Units transferred in (TRANSFER_IN entries).")
    transferred_out: int = strawberry.field(description="Units transferred out (TRANSFER_OUT entries).")
    net: int = strawberry.field(
        description="Change in stock: received + returned - shipped + adjusted + transferredIn - transferredOut."
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
        )

    @strawberry.field
    def product(self, info: Info) -> Product | None:
        if self.group_by is not MovementGroupBy.PRODUCT or self.group_pk is None:
            return None
        return _context(info).loaders.product_by_id.load(self.group_pk)

    @strawberry.field(description="With groupBy CATEGORY; null there for products without a category.")
    def category(self, info: Info) -> Category | None:
        if self.group_by is not MovementGroupBy.CATEGORY or self.group_pk is None:
            return None
        return _context(info).loaders.category_by_id.load(self.group_pk)

    @strawberry.field
    def warehouse(self, info: Info) -> Warehouse | None:
        if self.group_by is not MovementGroupBy.WAREHOUSE or self.group_pk is None:
            return None
        return _context(info).loaders.warehouse_by_id.load(self.group_pk)
