"""Root query fields of the catalog, and Relay's node lookup."""

import asyncio
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from db import catalog_reads as reads
from db.errors import Invalid
from db.models import Category as CategoryModel
from db.models import Product as ProductModel
from db.models import Supplier as SupplierModel
from graph.auth import may_fetch
from graph.context import Context
from graph.relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    Node,
    by_id_or,
    decode_id,
    decode_optional_id,
    from_node_id,
    id_input,
    window,
)
from graph.roots import by_id, by_id_or_key, connection_of
from graph.types.catalog import (
    IS_ACTIVE_FILTER,
    SEARCH_NAME,
    Category,
    Product,
    ProductFilter,
    ProductOrder,
    Supplier,
)


@strawberry.input(description="Narrows a list of categories; every condition given must hold.")
class CategoryFilter:
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description=f"{id_input('a category')} Only its direct subcategories are listed."
    )
    roots_only: bool = strawberry.field(default=False, description="Only categories without a parent.")
    search: str | None = strawberry.field(default=None, description=SEARCH_NAME)

    def spec(self) -> reads.CategoryFilter:
        parent = decode_optional_id(self.parent_id, "Category", "filter.parentId")
        return reads.CategoryFilter(parent_id=parent, roots_only=self.roots_only, search=self.search or None)


@strawberry.input(description="Narrows a list of suppliers; every condition given must hold.")
class SupplierFilter:
    search: str | None = strawberry.field(default=None, description=SEARCH_NAME)
    is_active: bool | None = strawberry.field(default=None, description=IS_ACTIVE_FILTER)

    def spec(self) -> reads.SupplierFilter:
        return reads.SupplierFilter(search=self.search or None, is_active=self.is_active)


async def _load_node(context: Context, global_id: str) -> Any:
    try:
        type_name, pk = from_node_id(global_id)
    except ValueError:
        return None
    loader = context.loaders.by_type_name(type_name)
    if loader is None:
        return None
    if type_name in ("User", "Change", "WebhookEndpoint") and not may_fetch(await context.user(), type_name, pk):
        return None
    return await loader.load(pk)


@strawberry.type
class CatalogQueries:
    @strawberry.field(
        description="Fetch any object by its global ID; null if there is none (or the ID is not one). A User "
        "only for itself and for administrators, a Change only for managers and administrators, a WebhookEndpoint "
        "only for administrators: null for anyone else. Ask for the type's fields with a "
        "fragment: `node(id: $id) { ... on Product { sku } }`."
    )
    async def node(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The global ID of any object.")],
    ) -> Node | None:
        return await _load_node(info.context, id)

    @strawberry.field(
        description="Fetch objects by global ID, in the order asked; null where there is none, for a User "
        "other than the caller unless the caller is an administrator, for a Change unless the caller is a "
        "manager or an administrator, and for a WebhookEndpoint unless the caller is an administrator."
    )
    async def nodes(
        self,
        info: Info[Context, None],
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(
                description="Global IDs of any types; at most the server's maximum page size (100 by default)."
            ),
        ],
    ) -> list[Node | None]:
        if len(ids) > info.context.settings.max_page_size:
            raise Invalid(f"At most {info.context.settings.max_page_size} IDs at once.", field="ids")
        return list(await asyncio.gather(*(_load_node(info.context, i) for i in ids)))

    @strawberry.field(description="A product by global ID or by SKU; null if there is none.")
    async def product(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID | None, by_id_or("the product", "sku")] = None,
        sku: Annotated[
            str | None,
            strawberry.argument(description="The product's SKU, any case. Give this or `id`, not both."),
        ] = None,
    ) -> Product | None:
        return await by_id_or_key(
            info, "Product", id, sku=sku,
            loader=info.context.loaders.product_by_id, find=reads.product_by_sku, convert=Product.from_model,
        )

    @strawberry.field(description="Products, filtered and sorted, a page at a time.")
    async def products(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[ProductFilter | None, strawberry.argument(description="Narrows the products.")] = None,
        order_by: Annotated[
            ProductOrder | None, strawberry.argument(description="The order; by name when not given.")
        ] = None,
    ) -> Connection[Product]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = reads.product_conditions((filter or ProductFilter()).spec())
        sort = (order_by or ProductOrder()).sort_key()
        return await connection_of(info, ProductModel, conditions, sort, page_window, Product.from_model)

    @strawberry.field(description="A category by global ID or by slug; null if there is none.")
    async def category(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID | None, by_id_or("the category", "slug")] = None,
        slug: Annotated[
            str | None,
            strawberry.argument(description="The category's slug, exactly. Give this or `id`, not both."),
        ] = None,
    ) -> Category | None:
        return await by_id_or_key(
            info, "Category", id, slug=slug,
            loader=info.context.loaders.category_by_id, find=reads.category_by_slug, convert=Category.from_model,
        )

    @strawberry.field(description="Categories by name, a page at a time.")
    async def categories(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            CategoryFilter | None, strawberry.argument(description="Narrows the categories.")
        ] = None,
    ) -> Connection[Category]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = reads.category_conditions((filter or CategoryFilter()).spec())
        return await connection_of(
            info, CategoryModel, conditions, reads.CATEGORY_SORT, page_window, Category.from_model
        )

    @strawberry.field(description="A supplier by global ID; null if there is none.")
    async def supplier(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description=id_input("the supplier"))],
    ) -> Supplier | None:
        return await by_id(info, info.context.loaders.supplier_by_id, decode_id(id, "Supplier", "id"))

    @strawberry.field(description="Suppliers by name, a page at a time.")
    async def suppliers(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            SupplierFilter | None, strawberry.argument(description="Narrows the suppliers.")
        ] = None,
    ) -> Connection[Supplier]:
        page_window = window(info.context.settings, first, after, last, before)
        conditions = reads.supplier_conditions((filter or SupplierFilter()).spec())
        return await connection_of(
            info, SupplierModel, conditions, reads.SUPPLIER_SORT, page_window, Supplier.from_model
        )
