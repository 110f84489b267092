"""Catalog mutations: categories, suppliers, products and the terms suppliers offer for products.

Each mutation is one write transaction; a refused one rolls back and returns its `errors`.
"""

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Self

import strawberry
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from db import catalog
from db import lengths as L
from db.catalog import MONEY_RULE
from graph.context import Context
from graph.errors import UserError, with_error_codes
from graph.mutations.base import INPUT, changed, errors_field, money_refused, optional, result_field
from graph.mutations.base import write as _write
from graph.relay import decode_id, id_input, to_global_id
from graph.types.catalog import Category, Product, ProductSupplier, Supplier

UNSET: Any = strawberry.UNSET


# Texts shared by the create and update inputs; each says the rule the value must keep.
CATEGORY_NAME = (
    f"Up to {L.MAX_CATEGORY_NAME_LENGTH:,} characters, trimmed; unique among the categories of the same parent, "
    "whatever the case."
)
CATEGORY_SLUG = (
    "Unique name for URLs: letters and digits in words joined by single hyphens, "
    f"{L.at_most(L.MAX_SLUG_LENGTH)}; stored in lowercase."
)
DESCRIPTION = f"Free text, {L.at_most(L.MAX_DESCRIPTION_LENGTH)}, trimmed; blank is stored as null."
SUPPLIER_NAME = f"Up to {L.MAX_NAME_LENGTH:,} characters, trimmed; unique whatever the case."
EMAIL = f"An email address, {L.at_most(L.MAX_EMAIL_LENGTH)}."
PHONE = f"A phone number as free text, {L.at_most(L.MAX_PHONE_LENGTH)}."
WEBSITE = f"A web address as free text, {L.at_most(L.MAX_WEBSITE_LENGTH)}."
ADDRESS = f"A postal address, free text, {L.at_most(L.MAX_ADDRESS_LENGTH)}, trimmed; blank is stored as null."
PRODUCT_NAME = f"Up to {L.MAX_NAME_LENGTH:,} characters, trimmed."
SKU = (
    f"Unique; up to {L.MAX_SKU_LENGTH} letters, digits, '.', '_' and '-', starting with a letter or digit; stored "
    "trimmed and in uppercase."
)
UNIT_PRICE = f"The price of one unit: {MONEY_RULE}."
REORDER_POINT = "Units, 0 to 1,000,000,000: `lowStock` lists the product at or below it; 0 never does."
REORDER_QUANTITY = "Units to order when restocking, 0 to 1,000,000,000."
IS_ACTIVE = "False archives it (see the type's `isActive`); true brings it back."


# --- inputs -------------------------------------------------------------------------------------


@strawberry.input(description="A new category.")
class CreateCategoryInput:
    name: str = strawberry.field(description=CATEGORY_NAME)
    slug: str | None = optional(
        f"{CATEGORY_SLUG} Derived from the name (and made unique with -2, -3, ...) when not given."
    )
    description: str | None = optional(DESCRIPTION)
    parent_id: strawberry.ID | None = optional(
        f"{id_input('the category to put it in')} A top-level category when not given."
    )


@strawberry.input(
    description="Fields left out keep their value; null clears `description`, and with `parentId` makes a root."
)
class UpdateCategoryInput:
    id: strawberry.ID = strawberry.field(description=id_input("the category to change"))
    name: str | None = changed(CATEGORY_NAME)
    slug: str | None = changed(CATEGORY_SLUG)
    description: str | None = changed(DESCRIPTION)
    parent_id: strawberry.ID | None = changed(
        f"{id_input('the category to move it under')} Not the category itself nor one of its subcategories; "
        "null makes it a top-level category."
    )


@strawberry.input(description="A new supplier.")
class CreateSupplierInput:
    name: str = strawberry.field(description=SUPPLIER_NAME)
    email: str | None = optional(EMAIL)
    phone: str | None = optional(PHONE)
    website: str | None = optional(WEBSITE)
    address: str | None = optional(ADDRESS)
    is_active: bool = optional("False adds it archived: it takes no purchase orders.", True)


@strawberry.input(description="Fields left out keep their value; null clears the contact fields.")
class UpdateSupplierInput:
    id: strawberry.ID = strawberry.field(description=id_input("the supplier to change"))
    name: str | None = changed(SUPPLIER_NAME)
    email: str | None = changed(EMAIL)
    phone: str | None = changed(PHONE)
    website: str | None = changed(WEBSITE)
    address: str | None = changed(ADDRESS)
    is_active: bool | None = changed("False archives the supplier: it takes no new purchase orders. Not null.")


@strawberry.input(description="A new product.")
class CreateProductInput:
    sku: str = strawberry.field(description=SKU)
    name: str = strawberry.field(description=PRODUCT_NAME)
    unit_price: Decimal = strawberry.field(description=UNIT_PRICE)
    description: str | None = optional(DESCRIPTION)
    category_id: strawberry.ID | None = optional(f"{id_input('its category')} No category when not given.")
    reorder_point: int = optional(REORDER_POINT, 0)
    reorder_quantity: int = optional(REORDER_QUANTITY, 0)
    is_active: bool = optional("False adds it archived.", True)


@strawberry.input(description="Fields left out keep their value; null clears `description` and `categoryId`.")
class UpdateProductInput:
    id: strawberry.ID = strawberry.field(description=id_input("the product to change"))
    sku: str | None = changed(SKU)
    name: str | None = changed(PRODUCT_NAME)
    unit_price: Decimal | None = changed(UNIT_PRICE)
    description: str | None = changed(DESCRIPTION)
    category_id: strawberry.ID | None = changed(id_input("its category"))
    reorder_point: int | None = changed(REORDER_POINT)
    reorder_quantity: int | None = changed(REORDER_QUANTITY)
    is_active: bool | None = changed(f"{IS_ACTIVE} Not null.")


@strawberry.input(
    description="A supplier's terms for a product. New terms need `unitCost`; for existing ones, fields left out "
    "keep their value. Making an offer preferred un-prefers the product's other offers."
)
class SetProductSupplierInput:
    product_id: strawberry.ID = strawberry.field(description=id_input("the product"))
    supplier_id: strawberry.ID = strawberry.field(description=id_input("the supplier"))
    unit_cost: Decimal | None = changed(f"What one unit costs from this supplier: {MONEY_RULE}.")
    supplier_sku: str | None = changed(
        f"The supplier's own code for the product, {L.at_most(L.MAX_SKU_LENGTH)}; null clears it."
    )
    lead_time_days: int | None = changed("Days from order to delivery, 0 to 3,650; 0 for new terms without it.")
    is_preferred: bool | None = changed(
        "True makes this the product's preferred supplier (and no other); false for new terms without it."
    )


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


@strawberry.type(description="The result of a mutation of a category.")
class CategoryPayload:
    category: Category | None = result_field("The category as saved")
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(category=Category.from_model(row))


@strawberry.type(description="The result of a mutation of a supplier.")
class SupplierPayload:
    supplier: Supplier | None = result_field("The supplier as saved")
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(supplier=Supplier.from_model(row))


@strawberry.type(description="The result of a mutation of a product.")
class ProductPayload:
    product: Product | None = result_field("The product as saved")
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(product=Product.from_model(row))


@strawberry.type(description="The result of `setProductSupplier`.")
class ProductSupplierPayload:
    product_supplier: ProductSupplier | None = result_field("The terms as saved")
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(product_supplier=ProductSupplier.from_model(row))


@strawberry.type(description="The result of a delete.")
class DeletePayload:
    deleted_id: strawberry.ID | None = result_field("The global ID of what was deleted")
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, row: Any) -> Self:
        # The model classes carry the names of their GraphQL types.
        return cls(deleted_id=strawberry.ID(to_global_id(type(row).__name__, row.id)))


# --- mutations ----------------------------------------------------------------------------------

_CategoryId = Annotated[strawberry.ID, strawberry.argument(description=id_input("the category"))]
_SupplierId = Annotated[strawberry.ID, strawberry.argument(description=id_input("the supplier"))]
_ProductId = Annotated[strawberry.ID, strawberry.argument(description=id_input("the product"))]

_CATEGORY_NAME_RULE = f"blank or over {L.MAX_CATEGORY_NAME_LENGTH:,} characters"
_DESCRIPTION_RULE = f"`description` is over {L.MAX_DESCRIPTION_LENGTH:,} characters"
_SUPPLIER_RULES = (
    f"`name` is blank or over {L.MAX_NAME_LENGTH:,} characters; `email` is not an email address or over "
    f"{L.MAX_EMAIL_LENGTH:,} characters; `phone` is over {L.MAX_PHONE_LENGTH:,}, `website` over "
    f"{L.MAX_WEBSITE_LENGTH:,} or `address` over {L.MAX_ADDRESS_LENGTH:,} characters"
)
_PRODUCT_RULES = (
    f"`sku` is blank, over {L.MAX_SKU_LENGTH} characters or holds other characters than letters, digits, '.', '_' "
    f"and '-'; `name` is blank or over {L.MAX_NAME_LENGTH:,} characters; {_DESCRIPTION_RULE}; "
    f"{money_refused('unitPrice')}; `reorderPoint` or `reorderQuantity` "
    "is outside 0 to 1,000,000,000"
)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(
        description=with_error_codes(
            "Add a category.",
            INVALID=f"`name` is {_CATEGORY_NAME_RULE}; {_DESCRIPTION_RULE}; `slug` is badly formed; or `parentId` is "
            "malformed.",
            NOT_FOUND="`parentId` names no category.",
            DUPLICATE="another category of the same parent has the name, or another category has the slug.",
        )
    )
    async def create_category(
        self, info: Info[Context, None], input: Annotated[CreateCategoryInput, INPUT]
    ) -> CategoryPayload:
        return await _write(
            info, CategoryPayload, catalog.create_category, lambda: _arguments(input), records_user="created_by_id"
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Rename, move or describe a category.",
            INVALID=f"`name` is null, {_CATEGORY_NAME_RULE}; {_DESCRIPTION_RULE}; `slug` is null or badly formed; "
            "the new parent is "
            "the category itself or one of its subcategories; or an ID is malformed.",
            NOT_FOUND="`id` or `parentId` names no category.",
            DUPLICATE="another category of the (new) parent has the name, or another category has the slug.",
        )
    )
    async def update_category(
        self, info: Info[Context, None], input: Annotated[UpdateCategoryInput, INPUT]
    ) -> CategoryPayload:
        return await _write(
            info,
            CategoryPayload,
            catalog.update_category,
            lambda: _arguments(input, "Category"),
            records_user="updated_by_id",
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Delete a category without subcategories or products.",
            INVALID="`id` is malformed.",
            NOT_FOUND="`id` names no category.",
            IN_USE="the category has subcategories or products: move or delete them first.",
        )
    )
    async def delete_category(self, info: Info[Context, None], id: _CategoryId) -> DeletePayload:
        return await _write(info, DeletePayload, catalog.delete_category, _id_argument(id, "Category"))

    @strawberry.mutation(
        description=with_error_codes(
            "Add a supplier.",
            INVALID=f"{_SUPPLIER_RULES}.",
            DUPLICATE="another supplier has the name, whatever the case.",
        )
    )
    async def create_supplier(
        self, info: Info[Context, None], input: Annotated[CreateSupplierInput, INPUT]
    ) -> SupplierPayload:
        return await _write(
            info, SupplierPayload, catalog.create_supplier, lambda: _arguments(input), records_user="created_by_id"
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Change a supplier's name, contact details or status.",
            INVALID=f"{_SUPPLIER_RULES}; `name` or `isActive` is null; or `id` is malformed.",
            NOT_FOUND="`id` names no supplier.",
            DUPLICATE="another supplier has the name, whatever the case.",
        )
    )
    async def update_supplier(
        self, info: Info[Context, None], input: Annotated[UpdateSupplierInput, INPUT]
    ) -> SupplierPayload:
        return await _write(
            info,
            SupplierPayload,
            catalog.update_supplier,
            lambda: _arguments(input, "Supplier"),
            records_user="updated_by_id",
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Delete a supplier that has no terms for products and no purchase orders.",
            INVALID="`id` is malformed.",
            NOT_FOUND="`id` names no supplier.",
            IN_USE="the supplier has terms for products (remove them first) or purchase orders (archive it "
            "instead: `updateSupplier` with `isActive: false`).",
        )
    )
    async def delete_supplier(self, info: Info[Context, None], id: _SupplierId) -> DeletePayload:
        return await _write(info, DeletePayload, catalog.delete_supplier, _id_argument(id, "Supplier"))

    @strawberry.mutation(
        description=with_error_codes(
            "Add a product.",
            INVALID=f"{_PRODUCT_RULES}; or `categoryId` is malformed.",
            NOT_FOUND="`categoryId` names no category.",
            DUPLICATE="another product has the SKU.",
        )
    )
    async def create_product(
        self, info: Info[Context, None], input: Annotated[CreateProductInput, INPUT]
    ) -> ProductPayload:
        return await _write(
            info, ProductPayload, catalog.create_product, lambda: _arguments(input), records_user="created_by_id"
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Change a product's fields.",
            INVALID=f"{_PRODUCT_RULES}; a field other than `description` or `categoryId` is null; or an ID is "
            "malformed.",
            NOT_FOUND="`id` names no product, or `categoryId` no category.",
            DUPLICATE="another product has the SKU.",
        )
    )
    async def update_product(
        self, info: Info[Context, None], input: Annotated[UpdateProductInput, INPUT]
    ) -> ProductPayload:
        return await _write(
            info,
            ProductPayload,
            catalog.update_product,
            lambda: _arguments(input, "Product"),
            records_user="updated_by_id",
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Delete a product that no supplier has terms for, with no stock history and on no purchase order.",
            INVALID="`id` is malformed.",
            NOT_FOUND="`id` names no product.",
            IN_USE="suppliers have terms for the product (remove them first), or it has stock history or "
            "purchase order lines (archive it instead: `updateProduct` with `isActive: false`).",
        )
    )
    async def delete_product(self, info: Info[Context, None], id: _ProductId) -> DeletePayload:
        return await _write(info, DeletePayload, catalog.delete_product, _id_argument(id, "Product"))

    @strawberry.mutation(
        description=with_error_codes(
            "Create or change a supplier's terms for a product.",
            INVALID="`unitCost` is missing for new terms or null; "
            f"{money_refused('unitCost')}; `supplierSku` is over {L.MAX_SKU_LENGTH} characters; `leadTimeDays` is null "
            "or outside 0 to 3,650; `isPreferred` is null; or an ID is malformed.",
            NOT_FOUND="`productId` names no product, or `supplierId` no supplier.",
            DUPLICATE="a concurrent request created the same terms, or made another supplier preferred, first; "
            "send it again.",
        )
    )
    async def set_product_supplier(
        self, info: Info[Context, None], input: Annotated[SetProductSupplierInput, INPUT]
    ) -> ProductSupplierPayload:
        return await _write(
            info,
            ProductSupplierPayload,
            catalog.set_product_supplier,
            lambda: _arguments(input),
            records_user="updated_by_id",
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Delete a supplier's terms for a product.",
            INVALID="an ID is malformed.",
            NOT_FOUND="`productId` names no product, `supplierId` no supplier, or the supplier has no terms for "
            "the product.",
        )
    )
    async def remove_product_supplier(
        self,
        info: Info[Context, None],
        product_id: Annotated[strawberry.ID, strawberry.argument(description=id_input("the product"))],
        supplier_id: Annotated[strawberry.ID, strawberry.argument(description=id_input("the supplier"))],
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
