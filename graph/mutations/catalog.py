"""Catalog mutations: categories, suppliers, products and the terms suppliers offer for products.

Each mutation is one write transaction; a refused one rolls back and returns its `errors`.
"""

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Self

import strawberry
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from db import catalog
from graph.context import Context
from graph.errors import UserError
from graph.mutations.base import write as _write
from graph.relay import decode_id, to_global_id
from graph.types.catalog import Category, Product, ProductSupplier, Supplier

UNSET: Any = strawberry.UNSET


# --- inputs -------------------------------------------------------------------------------------


@strawberry.input
class CreateCategoryInput:
    name: str
    slug: str | None = strawberry.field(
        default=None, description="Derived from the name (and made unique) when not given."
    )
    description: str | None = None
    parent_id: strawberry.ID | None = None


@strawberry.input(
    description="Fields left out keep their value; null clears `description`, and with `parentId` makes a root."
)
class UpdateCategoryInput:
    id: strawberry.ID
    name: str | None = UNSET
    slug: str | None = UNSET
    description: str | None = UNSET
    parent_id: strawberry.ID | None = UNSET


@strawberry.input
class CreateSupplierInput:
    name: str
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    address: str | None = None
    is_active: bool = True


@strawberry.input(description="Fields left out keep their value; null clears the contact fields.")
class UpdateSupplierInput:
    id: strawberry.ID
    name: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    website: str | None = UNSET
    address: str | None = UNSET
    is_active: bool | None = UNSET


@strawberry.input
class CreateProductInput:
    sku: str = strawberry.field(description="Stored trimmed and in uppercase.")
    name: str
    unit_price: Decimal
    description: str | None = None
    category_id: strawberry.ID | None = None
    reorder_point: int = 0
    reorder_quantity: int = 0
    is_active: bool = True


@strawberry.input(description="Fields left out keep their value; null clears `description` and `categoryId`.")
class UpdateProductInput:
    id: strawberry.ID
    sku: str | None = UNSET
    name: str | None = UNSET
    unit_price: Decimal | None = UNSET
    description: str | None = UNSET
    category_id: strawberry.ID | None = UNSET
    reorder_point: int | None = UNSET
    reorder_quantity: int | None = UNSET
    is_active: bool | None = UNSET


@strawberry.input(
    description="A supplier's terms for a product. New terms need `unitCost`; for existing ones, fields left out "
    "keep their value. Making an offer preferred un-prefers the product's other offers."
)
class SetProductSupplierInput:
    product_id: strawberry.ID
    supplier_id: strawberry.ID
    unit_cost: Decimal | None = UNSET
    supplier_sku: str | None = UNSET
    lead_time_days: int | None = UNSET
    is_preferred: bool | None = UNSET


# Input fields holding global IDs, and the type each must name.
_REFERENCES = {"parent_id": "Category", "category_id": "Category", "supplier_id": "Supplier", "product_id": "Product"}


def _arguments(input: Any, entity: str | None = None) -> dict[str, Any]:
    """The fields given in `input` as keyword arguments for db/, global IDs decoded; `id` names an `entity`."""
    arguments: dict[str, Any] = {}
    for field in dataclasses.fields(input):
        value = getattr(input, field.name)
        if value is UNSET:
            continue
        if field.name == "id" and entity is not None:
            arguments[f"{entity.lower()}_id"] = decode_id(value, entity, "id")
        elif field.name in _REFERENCES and value is not None:
            arguments[field.name] = decode_id(value, _REFERENCES[field.name], to_camel_case(field.name))
        else:
            arguments[field.name] = value
    return arguments


def _id_argument(global_id: strawberry.ID, entity: str) -> Callable[[], dict[str, Any]]:
    """The `id` argument of a delete as the keyword argument for db/."""
    return lambda: {f"{entity.lower()}_id": decode_id(global_id, entity, "id")}


# --- payloads -----------------------------------------------------------------------------------


@strawberry.type
class CategoryPayload:
    category: Category | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(category=Category.from_model(row))


@strawberry.type
class SupplierPayload:
    supplier: Supplier | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(supplier=Supplier.from_model(row))


@strawberry.type
class ProductPayload:
    product: Product | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(product=Product.from_model(row))


@strawberry.type
class ProductSupplierPayload:
    product_supplier: ProductSupplier | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(product_supplier=ProductSupplier.from_model(row))


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The global ID of what was deleted.")
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: Any) -> Self:
        # The model classes carry the names of their GraphQL types.
        return cls(deleted_id=strawberry.ID(to_global_id(type(row).__name__, row.id)))


# --- mutations ----------------------------------------------------------------------------------


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(description="Add a category.")
    async def create_category(self, info: Info[Context, None], input: CreateCategoryInput) -> CategoryPayload:
        return await _write(
            info, CategoryPayload, catalog.create_category, lambda: _arguments(input), records_user=True
        )

    @strawberry.mutation(description="Rename, move or describe a category.")
    async def update_category(self, info: Info[Context, None], input: UpdateCategoryInput) -> CategoryPayload:
        return await _write(info, CategoryPayload, catalog.update_category, lambda: _arguments(input, "Category"))

    @strawberry.mutation(description="Delete a category without subcategories or products.")
    async def delete_category(self, info: Info[Context, None], id: strawberry.ID) -> DeletePayload:
        return await _write(info, DeletePayload, catalog.delete_category, _id_argument(id, "Category"))

    @strawberry.mutation(description="Add a supplier.")
    async def create_supplier(self, info: Info[Context, None], input: CreateSupplierInput) -> SupplierPayload:
        return await _write(
            info, SupplierPayload, catalog.create_supplier, lambda: _arguments(input), records_user=True
        )

    @strawberry.mutation(description="Change a supplier's name, contact details or status.")
    async def update_supplier(self, info: Info[Context, None], input: UpdateSupplierInput) -> SupplierPayload:
        return await _write(info, SupplierPayload, catalog.update_supplier, lambda: _arguments(input, "Supplier"))

    @strawberry.mutation(description="Delete a supplier that offers no products.")
    async def delete_supplier(self, info: Info[Context, None], id: strawberry.ID) -> DeletePayload:
        return await _write(info, DeletePayload, catalog.delete_supplier, _id_argument(id, "Supplier"))

    @strawberry.mutation(description="Add a product.")
    async def create_product(self, info: Info[Context, None], input: CreateProductInput) -> ProductPayload:
        return await _write(
            info, ProductPayload, catalog.create_product, lambda: _arguments(input), records_user=True
        )

    @strawberry.mutation(description="Change a product's fields.")
    async def update_product(self, info: Info[Context, None], input: UpdateProductInput) -> ProductPayload:
        return await _write(info, ProductPayload, catalog.update_product, lambda: _arguments(input, "Product"))

    @strawberry.mutation(description="Delete a product that no supplier offers.")
    async def delete_product(self, info: Info[Context, None], id: strawberry.ID) -> DeletePayload:
        return await _write(info, DeletePayload, catalog.delete_product, _id_argument(id, "Product"))

    @strawberry.mutation(description="Create or change a supplier's terms for a product.")
    async def set_product_supplier(
        self, info: Info[Context, None], input: SetProductSupplierInput
    ) -> ProductSupplierPayload:
        return await _write(info, ProductSupplierPayload, catalog.set_product_supplier, lambda: _arguments(input))

    @strawberry.mutation(description="Delete a supplier's terms for a product.")
    async def remove_product_supplier(
        self, info: Info[Context, None], product_id: strawberry.ID, supplier_id: strawberry.ID
    ) -> DeletePayload:
        return await _write(
            info,
            DeletePayload,
            catalog.remove_product_supplier,
            lambda: {
                "product_id": decode_id(product_id, "Product", "productId"),
                "supplier_id": decode_id(supplier_id, "Supplier", "supplierId"),
            },
        )
