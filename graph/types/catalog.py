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
from db.catalog import CENT, MONEY_LIMIT, MONEY_RULE
from db.errors import Invalid
from graph.relations import Relation
from graph.scalars import Long
from graph.relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    decode_optional_id,
    id_input,
    id_of,
    to_global_id,
    window,
)
from graph.types.users import User

if TYPE_CHECKING:
    from graph.types.stock import InventoryTransaction, ProductTransactionFilter, StockLevel

# The stock types refer back to Product; strawberry resolves these when the schema is built.
_StockLevel = Annotated["StockLevel", strawberry.lazy("graph.types.stock")]
_InventoryTransaction = Annotated["InventoryTransaction", strawberry.lazy("graph.types.stock")]
_ProductTransactionFilter = Annotated["ProductTransactionFilter", strawberry.lazy("graph.types.stock")]

CREATED_AT = "When it was created."
UPDATED_AT = "When it was last changed."
IS_ACTIVE_FILTER = "Only active ones (true) or only archived ones (false); both when not given."
SEARCH_NAME = "Part of the name, any case."


@strawberry.enum(description="Which way a list is sorted.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Ascending: A to Z, low to high, oldest first.")
    DESC = strawberry.enum_value("DESC", description="Descending: Z to A, high to low, newest first.")


@strawberry.enum(description="What products are sorted by.")
class ProductOrderField(Enum):
    NAME = strawberry.enum_value("NAME", description="The product's name.")
    SKU = strawberry.enum_value("SKU", description="The product's SKU.")
    PRICE = strawberry.enum_value("PRICE", description="The product's `unitPrice`.")
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="When the product was created.")


@strawberry.input(description="Sort order for products; ties are broken by ID in the same direction.")
class ProductOrder:
    field: ProductOrderField = strawberry.field(default=ProductOrderField.NAME, description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")

    def sort_key(self) -> Any:
        return reads.product_sort(reads.ProductSortField[self.field.name], self.direction is OrderDirection.DESC)


@strawberry.input(description="Narrows a list of products; every condition given must hold.")
class ProductFilter:
    search: str | None = strawberry.field(default=None, description="Part of the name or SKU, any case.")
    category_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=f"{id_input('a category')} Only its products are listed (and its subcategories' with "
        "`includeDescendants`).",
    )
    include_descendants: bool = strawberry.field(
        default=False, description="With categoryId (or under a category): also products of its subcategories."
    )
    supplier_id: strawberry.ID | None = strawberry.field(
        default=None, description=f"{id_input('a supplier')} Only the products it has terms for are listed."
    )
    min_price: Decimal | None = strawberry.field(
        default=None, description=f"Only products whose `unitPrice` is at least this: {MONEY_RULE}."
    )
    max_price: Decimal | None = strawberry.field(
        default=None, description=f"Only products whose `unitPrice` is at most this: {MONEY_RULE}."
    )
    is_active: bool | None = strawberry.field(default=None, description=IS_ACTIVE_FILTER)

    def spec(self) -> reads.ProductFilter:
        return reads.ProductFilter(
            search=self.search or None,
            category_id=decode_optional_id(self.category_id, "Category", "filter.categoryId"),
            include_descendants=self.include_descendants,
            supplier_id=decode_optional_id(self.supplier_id, "Supplier", "filter.supplierId"),
            min_price=_price_bound(self.min_price, "filter.minPrice"),
            max_price=_price_bound(self.max_price, "filter.maxPrice"),
            is_active=self.is_active,
        )


def _price_bound(value: Decimal | None, field: str) -> Decimal | None:
    """A price filter's bound, if a price could equal it (what `unitPrice` can hold); else Invalid."""
    if value is None:
        return None
    if not value.is_finite() or not 0 <= value < MONEY_LIMIT or value != value.quantize(CENT):
        raise Invalid(f"`{field}` must be a price: {MONEY_RULE}.", field=field)
    return value


CREATED_BY = "Who created it; null for what was written outside the API, such as demo data."
UPDATED_BY = (
    "Who changed it last, or created it if no one has changed it since; null when that was done outside the API, "
    "such as by loading demo data. Visible to anyone who may read it; the user's `email` only to that user and "
    "administrators."
)
# Any row's creator (`created_by_pk`), for every type that records one.
CREATED_BY_USER = Relation(lambda loaders: loaders.user_by_id, lambda source, _settings: source.created_by_pk)
# Any row's last changer (`updated_by_pk`), for every type that records one.
UPDATED_BY_USER = Relation(lambda loaders: loaders.user_by_id, lambda source, _settings: source.updated_by_pk)


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
PRODUCT_QUANTITY_ON_ORDER = Relation(
    lambda loaders: loaders.on_order_by_product_id, lambda product, _settings: (product.pk,)
)
PRODUCT_HELD = Relation(lambda loaders: loaders.held_by_product_id, lambda product, _settings: product.pk)
PRODUCT_TRANSACTIONS = Relation(
    lambda loaders: loaders.transaction_page_by_product_id,
    _transactions_key,
    connection=True,
    convert=_transaction,
    count_loader=lambda loaders: loaders.transaction_count_by_product_id,
    count_key=lambda key: key[:2],
)


@strawberry.type(
    description="A group of products. Categories form a tree: each has at most one parent, any number of "
    "children."
)
class Category(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this category"))
    name: str = strawberry.field(
        description="Up to 100 characters; unique among the categories of the same parent, whatever the case."
    )
    slug: str = strawberry.field(
        description="Unique name for URLs: lowercase letters and digits in words joined by single hyphens, up to "
        "120 characters; `category(slug:)` finds the category by it."
    )
    description: str | None = strawberry.field(description="Free text; null when there is none.")
    created_at: datetime = strawberry.field(description=CREATED_AT)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)
    pk: strawberry.Private[int]
    parent_pk: strawberry.Private[int | None]
    created_by_pk: strawberry.Private[int | None]
    updated_by_pk: strawberry.Private[int | None]

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
            updated_by_pk=row.updated_by_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The category this one is in; null for a top-level category.")
    def parent(self, info: Info) -> "Category | None":
        return CATEGORY_PARENT.resolve(self, info)

    @strawberry.field(description=CREATED_BY)
    def created_by(self, info: Info) -> User | None:
        return CREATED_BY_USER.resolve(self, info)

    @strawberry.field(description=UPDATED_BY)
    def updated_by(self, info: Info) -> User | None:
        return UPDATED_BY_USER.resolve(self, info)

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
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            ProductFilter | None,
            strawberry.argument(
                description="Narrows the products; with `includeDescendants`, its subcategories' products are "
                "listed too."
            ),
        ] = None,
        order_by: Annotated[
            ProductOrder | None, strawberry.argument(description="The order; by name when not given.")
        ] = None,
    ) -> "Connection[Product]":
        return CATEGORY_PRODUCTS.resolve(
            self, info, first=first, after=after, last=last, before=before, filter=filter, order_by=order_by
        )

    @strawberry.field(description="How many products are in this category (with its subcategories if asked).")
    def product_count(
        self,
        info: Info,
        include_descendants: Annotated[
            bool, strawberry.argument(description="Also count the products of its subcategories, at any depth.")
        ] = False,
    ) -> int:
        return CATEGORY_PRODUCT_COUNT.resolve(self, info, include_descendants=include_descendants)


@strawberry.type(description="A company goods are bought from: its contact details, terms and purchase orders.")
class Supplier(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this supplier"))
    name: str = strawberry.field(description="Up to 200 characters; unique whatever the case.")
    email: str | None = strawberry.field(description="Contact email address; null when not known.")
    phone: str | None = strawberry.field(description="Contact phone number, as entered; null when not known.")
    website: str | None = strawberry.field(description="Web address, as entered; null when not known.")
    address: str | None = strawberry.field(description="Postal address, free text; null when not known.")
    is_active: bool = strawberry.field(
        description="False once archived: an archived supplier takes no new purchase orders."
    )
    created_at: datetime = strawberry.field(description=CREATED_AT)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)
    pk: strawberry.Private[int]
    created_by_pk: strawberry.Private[int | None]
    updated_by_pk: strawberry.Private[int | None]

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
            updated_by_pk=row.updated_by_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description=CREATED_BY)
    def created_by(self, info: Info) -> User | None:
        return CREATED_BY_USER.resolve(self, info)

    @strawberry.field(description=UPDATED_BY)
    def updated_by(self, info: Info) -> User | None:
        return UPDATED_BY_USER.resolve(self, info)

    @strawberry.field(description="The products this supplier offers, with its terms, oldest first.")
    def offers(
        self, info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> "Connection[ProductSupplier]":
        return SUPPLIER_OFFERS.resolve(self, info, first=first, after=after, last=last, before=before)


@strawberry.type(description="The terms one supplier offers for one product.")
class ProductSupplier(Node):
    id: strawberry.ID = strawberry.field(description=id_of("these terms"))
    supplier_sku: str | None = strawberry.field(
        description="The supplier's own code for the product; null when not known."
    )
    unit_cost: Decimal = strawberry.field(
        description="What one unit costs from this supplier, with 2 decimal places: the default cost of this "
        "supplier's purchase order lines, and of receipts when this supplier is the preferred one."
    )
    lead_time_days: int = strawberry.field(description="Days from order to delivery, 0 to 3,650.")
    is_preferred: bool = strawberry.field(
        description="Whether this is the product's preferred supplier; a product has at most one."
    )
    created_at: datetime = strawberry.field(description=CREATED_AT)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)
    pk: strawberry.Private[int]
    product_pk: strawberry.Private[int]
    supplier_pk: strawberry.Private[int]
    updated_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.ProductSupplier) -> "ProductSupplier":
        return cls(
            id=strawberry.ID(to_global_id("ProductSupplier", row.id)),
            pk=row.id,
            product_pk=row.product_id,
            supplier_pk=row.supplier_id,
            updated_by_pk=row.updated_by_id,
            supplier_sku=row.supplier_sku,
            unit_cost=row.unit_cost,
            lead_time_days=row.lead_time_days,
            is_preferred=row.is_preferred,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The product the terms are for.")
    def product(self, info: Info) -> "Product":
        return OFFER_PRODUCT.resolve(self, info)

    @strawberry.field(description="The supplier that offers them.")
    def supplier(self, info: Info) -> Supplier:
        return OFFER_SUPPLIER.resolve(self, info)

    @strawberry.field(
        description=f"{UPDATED_BY} Making another supplier preferred (`setProductSupplier`) changes these terms "
        "too."
    )
    def updated_by(self, info: Info) -> User | None:
        return UPDATED_BY_USER.resolve(self, info)


@strawberry.type(
    description="Something kept in stock: its catalog data, its stock in each warehouse, its ledger and its "
    "suppliers' terms."
)
class Product(Node):
    id: strawberry.ID = strawberry.field(description=id_of("this product"))
    sku: str = strawberry.field(
        description="Stock keeping unit: unique, uppercase, up to 64 letters, digits, '.', '_' and '-', starting "
        "with a letter or digit; `product(sku:)` finds the product by it."
    )
    name: str = strawberry.field(description="Up to 200 characters.")
    description: str | None = strawberry.field(description="Free text; null when there is none.")
    unit_price: Decimal = strawberry.field(description="The price of one unit, with 2 decimal places.")
    reorder_point: int = strawberry.field(
        description="Units: when the stock available plus on order is at or below this, `lowStock` lists the "
        "product. 0 never lists it."
    )
    reorder_quantity: int = strawberry.field(
        description="Units to order when restocking, the lot size: `lowStock` suggests, and "
        "`draftPurchaseOrdersFromLowStock` orders, whole multiples of it (at least one)."
    )
    is_active: bool = strawberry.field(
        description="False once archived: an archived product keeps its history and its stock can still be "
        "shipped and counted, but it takes no receipts, returns or transfers and cannot be ordered."
    )
    average_cost: Decimal = strawberry.field(
        description="Weighted average unit cost of the stock on hand, with 4 decimal places; updated by receipts, "
        "used for valuation. 0.0000 before the first receipt."
    )
    created_at: datetime = strawberry.field(description=CREATED_AT)
    updated_at: datetime = strawberry.field(description=UPDATED_AT)
    pk: strawberry.Private[int]
    category_pk: strawberry.Private[int | None]
    created_by_pk: strawberry.Private[int | None]
    updated_by_pk: strawberry.Private[int | None]

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
            updated_by_pk=row.updated_by_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The product's category; null when it has none.")
    def category(self, info: Info) -> Category | None:
        return PRODUCT_CATEGORY.resolve(self, info)

    @strawberry.field(description=CREATED_BY)
    def created_by(self, info: Info) -> User | None:
        return CREATED_BY_USER.resolve(self, info)

    @strawberry.field(
        description=f"{UPDATED_BY} Receipts, which move `averageCost`, do not count: the ledger names who made "
        "them (`transactions`)."
    )
    def updated_by(self, info: Info) -> User | None:
        return UPDATED_BY_USER.resolve(self, info)

    @strawberry.field(description="Every supplier's terms for this product, the preferred supplier first.")
    def suppliers(self, info: Info) -> list[ProductSupplier]:
        return PRODUCT_SUPPLIERS.resolve(self, info)

    @strawberry.field(description="Units on hand over all warehouses.")
    def quantity_on_hand(self, info: Info) -> Long:
        return PRODUCT_QUANTITY_ON_HAND.resolve(self, info)

    @strawberry.field(
        description="Units on submitted purchase orders not yet received (ordered less received, on orders ORDERED "
        "or PARTIALLY_RECEIVED; drafts and cancelled orders do not count). Over all warehouses: an order names "
        "none, its goods go where they are received."
    )
    def quantity_on_order(self, info: Info) -> Long:
        return PRODUCT_QUANTITY_ON_ORDER.resolve(self, info)

    @strawberry.field(
        description="Units set aside over all warehouses by reservations that still hold (sales orders' and "
        "unexpired free-standing holds)."
    )
    def quantity_reserved(self, info: Info) -> Long:
        return PRODUCT_HELD.resolve(self, info)

    @strawberry.field(description="Units that can be promised over all warehouses: quantityOnHand - quantityReserved.")
    async def quantity_available(self, info: Info) -> Long:
        return await PRODUCT_QUANTITY_ON_HAND.resolve(self, info) - await PRODUCT_HELD.resolve(self, info)

    @strawberry.field(description="Stock in each warehouse that holds or has held this product, by warehouse name.")
    def stock(self, info: Info) -> list[_StockLevel]:
        return PRODUCT_STOCK.resolve(self, info)

    @strawberry.field(description="This product's ledger entries, newest first.")
    def transactions(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            _ProductTransactionFilter | None, strawberry.argument(description="Narrows the entries.")
        ] = None,
    ) -> Connection[_InventoryTransaction]:
        return PRODUCT_TRANSACTIONS.resolve(self, info, first=first, after=after, last=last, before=before, filter=filter)
