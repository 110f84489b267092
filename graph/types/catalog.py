"""Catalog types: Category, Product, Supplier and ProductSupplier (a supplier's terms for a product).

Scalar fields are plain attributes copied from the row. Each relationship is a `Relation`
(graph/relations.py): loaded through the request's DataLoaders, one batched statement per level.
These types are the reference path (mutation payloads, and reads in compare mode); reads are served by
plans (graph/plans/), held to these types' answers by tests.
"""

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from db import catalog_reads as reads
from db import models
from graph.relations import Relation
from graph.relay import Connection, Node, decode_optional_id, to_global_id, window
from graph.types.users import User

if TYPE_CHECKING:
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
            category_id=decode_optional_id(self.category_id, "Category", "filter.categoryId"),
            include_descendants=self.include_descendants,
            supplier_id=decode_optional_id(self.supplier_id, "Supplier", "filter.supplierId"),
            min_price=self.min_price,
            max_price=self.max_price,
            is_active=self.is_active,
        )


CREATED_BY = "Who created it; null for what was written outside the API, such as demo data."
# Any row's creator (`created_by_pk`), for every type that records one.
CREATED_BY_USER = Relation(lambda loaders: loaders.user_by_id, lambda source, _settings: source.created_by_pk)


# The key functions get the resolver's arguments; `page` is its first/after/last/before.


def _products_key(
    category: "Category",
    settings: Any,
    filter: ProductFilter | None = None,
    order_by: ProductOrder | None = None,
    **page: Any,
) -> tuple[Any, ...]:
    spec = (filter or ProductFilter()).spec()
    sort = (order_by or ProductOrder()).sort_key()
    return (category.pk, spec, sort, window(settings, **page))


def _transactions_key(
    product: "Product", settings: Any, filter: "ProductTransactionFilter | None" = None, **page: Any
) -> tuple[Any, ...]:
    from graph.types.stock import ProductTransactionFilter  # graph.types.stock imports this module

    spec = (filter or ProductTransactionFilter()).spec()
    return (product.pk, spec, window(settings, **page))


def _transaction(row: models.InventoryTransaction) -> "InventoryTransaction":
    from graph.types.stock import InventoryTransaction

    return InventoryTransaction.from_model(row)


CATEGORY_PARENT = Relation(lambda loaders: loaders.category_by_id, lambda category, _settings: category.parent_pk)
CATEGORY_CHILDREN = Relation(lambda loaders: loaders.children_by_category_id, lambda category, _settings: (category.pk,))
CATEGORY_ANCESTORS = Relation(
    lambda loaders: loaders.ancestors_by_category_id, lambda category, _settings: (category.pk,)
)
CATEGORY_PRODUCTS = Relation(
    lambda loaders: loaders.product_page_by_category_id,
    _products_key,
    connection=True,
    convert=lambda row: Product.from_model(row),
    count_loader=lambda loaders: loaders.product_count_by_category_id,
    count_key=lambda key: key[:2],
)
CATEGORY_PRODUCT_COUNT = Relation(
    lambda loaders: loaders.product_count_by_category_id,
    lambda category, _settings, include_descendants=False: (
        category.pk,
        reads.ProductFilter(include_descendants=include_descendants),
    ),
)
SUPPLIER_OFFERS = Relation(
    lambda loaders: loaders.offer_page_by_supplier_id,
    lambda supplier, settings, **page: (supplier.pk, window(settings, **page)),
    connection=True,
    convert=lambda row: ProductSupplier.from_model(row),
    count_loader=lambda loaders: loaders.offer_count_by_supplier_id,
    count_key=lambda key: key[:1],
)
OFFER_PRODUCT = Relation(lambda loaders: loaders.product_by_id, lambda offer, _settings: offer.product_pk)
OFFER_SUPPLIER = Relation(lambda loaders: loaders.supplier_by_id, lambda offer, _settings: offer.supplier_pk)
PRODUCT_CATEGORY = Relation(lambda loaders: loaders.category_by_id, lambda product, _settings: product.category_pk)
PRODUCT_SUPPLIERS = Relation(lambda loaders: loaders.offers_by_product_id, lambda product, _settings: (product.pk,))
PRODUCT_STOCK = Relation(lambda loaders: loaders.stock_levels_by_product_id, lambda product, _settings: (product.pk,))
PRODUCT_QUANTITY_ON_HAND = Relation(
    PRODUCT_STOCK.loader, PRODUCT_STOCK.key, finish=lambda levels: sum(level.quantity_on_hand for level in levels)
)
PRODUCT_TRANSACTIONS = Relation(
    lambda loaders: loaders.transaction_page_by_product_id,
    _transactions_key,
    connection=True,
    convert=_transaction,
    count_loader=lambda loaders: loaders.transaction_count_by_product_id,
    count_key=lambda key: key[:2],
)


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
        return CATEGORY_PARENT.resolve(self, info)

    @strawberry.field(description=CREATED_BY)
    def created_by(self, info: Info) -> User | None:
        return CREATED_BY_USER.resolve(self, info)

    @strawberry.field(description="Direct subcategories, by name.")
    def children(self, info: Info) -> list["Category"]:
        return CATEGORY_CHILDREN.resolve(self, info)

    @strawberry.field(description="Ancestors from the root down to the parent.")
    def ancestors(self, info: Info) -> list["Category"]:
        return CATEGORY_ANCESTORS.resolve(self, info)

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
        return CATEGORY_PRODUCTS.resolve(
            self, info, first=first, after=after, last=last, before=before, filter=filter, order_by=order_by
        )

    @strawberry.field(description="How many products are in this category (with its subcategories if asked).")
    def product_count(self, info: Info, include_descendants: bool = False) -> int:
        return CATEGORY_PRODUCT_COUNT.resolve(self, info, include_descendants=include_descendants)


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
        return CREATED_BY_USER.resolve(self, info)

    @strawberry.field(description="The products this supplier offers, with its terms, oldest first.")
    def offers(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> "Connection[ProductSupplier]":
        return SUPPLIER_OFFERS.resolve(self, info, first=first, after=after, last=last, before=before)


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
        return OFFER_PRODUCT.resolve(self, info)

    @strawberry.field
    def supplier(self, info: Info) -> Supplier:
        return OFFER_SUPPLIER.resolve(self, info)


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
        return PRODUCT_CATEGORY.resolve(self, info)

    @strawberry.field(description=CREATED_BY)
    def created_by(self, info: Info) -> User | None:
        return CREATED_BY_USER.resolve(self, info)

    @strawberry.field(description="Every supplier's terms for this product, the preferred supplier first.")
    def suppliers(self, info: Info) -> list[ProductSupplier]:
        return PRODUCT_SUPPLIERS.resolve(self, info)

    @strawberry.field(description="Units on hand over all warehouses.")
    def quantity_on_hand(self, info: Info) -> int:
        return PRODUCT_QUANTITY_ON_HAND.resolve(self, info)

    @strawberry.field(description="Stock in each warehouse that holds or has held this product, by warehouse name.")
    def stock(self, info: Info) -> list[_StockLevel]:
        return PRODUCT_STOCK.resolve(self, info)

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
        return PRODUCT_TRANSACTIONS.resolve(self, info, first=first, after=after, last=last, before=before, filter=filter)
