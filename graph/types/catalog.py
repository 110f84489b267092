"""Catalog types: Category, Product, Supplier and ProductSupplier (a supplier's terms for a product).

Scalar fields are plain attributes copied from the row; relationships resolve through the request's
DataLoaders, so each level of a query is one batched statement whatever the number of rows.
"""

from collections.abc import Awaitable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from db import catalog_reads as reads
from db import models
from graph.relay import Connection, Node, decode_id, deferred_connection, to_global_id, window
from graph.types.users import User

if TYPE_CHECKING:
    from graph.context import Context
    from graph.types.stock import InventoryTransaction, ProductTransactionFilter, StockLevel

# The stock types refer back to Product; strawberry resolves these when the schema is built.
_StockLevel = Annotated["StockLevel", strawberry.lazy("graph.types.stock")]
_InventoryTransaction = Annotated["InventoryTransaction", strawberry.lazy("graph.types.stock")]
_ProductTransactionFilter = Annotated["ProductTransactionFilter", strawberry.lazy("graph.types.stock")]

@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum
class ProductOrderField(Enum):
    NAME = "NAME"
    SKU = "SKU"
    PRICE = "PRICE"
    CREATED_AT = "CREATED_AT"


@strawberry.input(description="Sort order for products; ties are broken by ID in the same direction.")
class ProductOrder:
    field: ProductOrderField = ProductOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC

    def sort_key(self) -> Any:
        return reads.product_sort(reads.ProductSortField[self.field.name], self.direction is OrderDirection.DESC)


@strawberry.input
class ProductFilter:
    search: str | None = strawberry.field(default=None, description="Part of the name or SKU, any case.")
    category_id: strawberry.ID | None = None
    include_descendants: bool = strawberry.field(
        default=False, description="With categoryId (or under a category): also products of its subcategories."
    )
    supplier_id: strawberry.ID | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    is_active: bool | None = None

    def spec(self) -> reads.ProductFilter:
        return reads.ProductFilter(
            search=self.search or None,
            category_id=None if self.category_id is None else decode_id(self.category_id, "Category", "filter.categoryId"),
            include_descendants=self.include_descendants,
            supplier_id=None if self.supplier_id is None else decode_id(self.supplier_id, "Supplier", "filter.supplierId"),
            min_price=self.min_price,
            max_price=self.max_price,
            is_active=self.is_active,
        )


def _context(info: Info) -> "Context":
    return info.context


def created_by(info: Info, user_id: int | None) -> Awaitable[User | None] | None:
    """The user who created a row, through the request's loader; None for rows written outside the API."""
    return None if user_id is None else _context(info).loaders.user_by_id.load(user_id)


CREATED_BY = "Who created it; null for what was written outside the API, such as demo data."


@strawberry.type
class Category(Node):
    id: strawberry.ID
    name: str
    slug: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    parent_pk: strawberry.Private[int | None]
    created_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Category) -> "Category":
        return cls(
            id=strawberry.ID(to_global_id("Category", row.id)),
            pk=row.id,
            name=row.name,
            slug=row.slug,
            description=row.description,
            parent_pk=row.parent_id,
            created_by_pk=row.created_by_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field
    def parent(self, info: Info) -> "Category | None":
        if self.parent_pk is None:
            return None
        return _context(info).loaders.category_by_id.load(self.parent_pk)

    @strawberry.field(description=CREATED_BY)
    def created_by(self, info: Info) -> User | None:
        return created_by(info, self.created_by_pk)

    @strawberry.field(description="Direct subcategories, by name.")
    def children(self, info: Info) -> list["Category"]:
        return _context(info).loaders.children_by_category_id.load((self.pk,))

    @strawberry.field(description="Ancestors from the root down to the parent.")
    def ancestors(self, info: Info) -> list["Category"]:
        return _context(info).loaders.ancestors_by_category_id.load((self.pk,))

    @strawberry.field(description="Products in this category (and its subcategories with filter.includeDescendants).")
    def products(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: ProductFilter | None = None,
        order_by: ProductOrder | None = None,
    ) -> "Connection[Product]":
        context = _context(info)
        page_window = window(context.settings, first, after, last, before)
        spec = (filter or ProductFilter()).spec()
        sort = (order_by or ProductOrder()).sort_key()
        loaders = context.loaders
        page = loaders.product_page_by_category_id.load((self.pk, spec, sort, page_window))
        return deferred_connection(
            page, Product.from_model, lambda: loaders.product_count_by_category_id.load((self.pk, spec))
        )

    @strawberry.field(description="How many products are in this category (with its subcategories if asked).")
    def product_count(self, info: Info, include_descendants: bool = False) -> int:
        spec = reads.ProductFilter(include_descendants=include_descendants)
        return _context(info).loaders.product_count_by_category_id.load((self.pk, spec))


@strawberry.type
class Supplier(Node):
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    website: str | None
    address: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    created_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Supplier) -> "Supplier":
        return cls(
            id=strawberry.ID(to_global_id("Supplier", row.id)),
            pk=row.id,
            name=row.name,
            email=row.email,
            phone=row.phone,
            website=row.website,
            address=row.address,
            is_active=row.is_active,
            created_by_pk=row.created_by_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description=CREATED_BY)
    def created_by(self, info: Info) -> User | None:
        return created_by(info, self.created_by_pk)

    @strawberry.field(description="The products this supplier offers, with its terms, oldest first.")
    def offers(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> "Connection[ProductSupplier]":
        context = _context(info)
        loaders = context.loaders
        page = loaders.offer_page_by_supplier_id.load((self.pk, window(context.settings, first, after, last, before)))
        return deferred_connection(
            page, ProductSupplier.from_model, lambda: loaders.offer_count_by_supplier_id.load((self.pk,))
        )


@strawberry.type(description="The terms one supplier offers for one product.")
class ProductSupplier(Node):
    id: strawberry.ID
    supplier_sku: str | None
    unit_cost: Decimal
    lead_time_days: int
    is_preferred: bool
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    product_pk: strawberry.Private[int]
    supplier_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.ProductSupplier) -> "ProductSupplier":
        return cls(
            id=strawberry.ID(to_global_id("ProductSupplier", row.id)),
            pk=row.id,
            product_pk=row.product_id,
            supplier_pk=row.supplier_id,
            supplier_sku=row.supplier_sku,
            unit_cost=row.unit_cost,
            lead_time_days=row.lead_time_days,
            is_preferred=row.is_preferred,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field
    def product(self, info: Info) -> "Product":
        return _context(info).loaders.product_by_id.load(self.product_pk)

    @strawberry.field
    def supplier(self, info: Info) -> Supplier:
        return _context(info).loaders.supplier_by_id.load(self.supplier_pk)


@strawberry.type
class Product(Node):
    id: strawberry.ID
    sku: str
    name: str
    description: str | None
    unit_price: Decimal
    reorder_point: int
    reorder_quantity: int
    is_active: bool
    average_cost: Decimal = strawberry.field(
        description="Weighted average unit cost of the stock on hand, updated by receipts; used for valuation."
    )
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    category_pk: strawberry.Private[int | None]
    created_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Product) -> "Product":
        return cls(
            id=strawberry.ID(to_global_id("Product", row.id)),
            pk=row.id,
            sku=row.sku,
            name=row.name,
            description=row.description,
            unit_price=row.unit_price,
            category_pk=row.category_id,
            reorder_point=row.reorder_point,
            reorder_quantity=row.reorder_quantity,
            is_active=row.is_active,
            average_cost=row.average_cost,
            created_by_pk=row.created_by_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field
    def category(self, info: Info) -> Category | None:
        if self.category_pk is None:
            return None
        return _context(info).loaders.category_by_id.load(self.category_pk)

    @strawberry.field(description=CREATED_BY)
    def created_by(self, info: Info) -> User | None:
        return created_by(info, self.created_by_pk)

    @strawberry.field(description="Every supplier's terms for this product, the preferred supplier first.")
    def suppliers(self, info: Info) -> list[ProductSupplier]:
        return _context(info).loaders.offers_by_product_id.load((self.pk,))

    @strawberry.field(description="Units on hand over all warehouses.")
    async def quantity_on_hand(self, info: Info) -> int:
        levels = await _context(info).loaders.stock_levels_by_product_id.load((self.pk,))
        return sum(level.quantity_on_hand for level in levels)

    @strawberry.field(description="Stock in each warehouse that holds or has held this product, by warehouse name.")
    def stock(self, info: Info) -> list[_StockLevel]:
        return _context(info).loaders.stock_levels_by_product_id.load((self.pk,))

    @strawberry.field(description="This product's ledger entries, newest first.")
    def transactions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: _ProductTransactionFilter | None = None,
    ) -> Connection[_InventoryTransaction]:
        # Imported here: graph.types.stock imports this module when it loads.
        from graph.types.stock import InventoryTransaction, ProductTransactionFilter

        context = _context(info)
        page_window = window(context.settings, first, after, last, before)
        spec = (filter or ProductTransactionFilter()).spec()
        loaders = context.loaders
        page = loaders.transaction_page_by_product_id.load((self.pk, spec, page_window))
        return deferred_connection(
            page, InventoryTransaction.from_model, lambda: loaders.transaction_count_by_product_id.load((self.pk, spec))
        )

