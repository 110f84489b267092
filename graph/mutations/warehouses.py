"""Warehouse mutations: create, change, archive and delete warehouses.

Each mutation is one write transaction; a refused one rolls back and returns its `errors`.
"""

from typing import Annotated, Any, Self

import strawberry
from strawberry.types import Info

from db import warehouses
from db.lengths import MAX_ADDRESS_LENGTH, MAX_NAME_LENGTH, MAX_WAREHOUSE_CODE_LENGTH
from graph.context import Context
from graph.errors import UserError, with_error_codes
from graph.mutations.base import INPUT, changed, errors_field, optional, result_field, write
from graph.mutations.catalog import ADDRESS, DeletePayload, _arguments, _id_argument
from graph.relay import id_input
from graph.types.stock import Warehouse

CODE = (
    f"Unique; up to {MAX_WAREHOUSE_CODE_LENGTH} letters, digits, '_' and '-', starting with a letter or digit; "
    "stored trimmed and in uppercase."
)
NAME = f"Up to {MAX_NAME_LENGTH:,} characters, trimmed."
_CODE_RULES = (
    f"`code` is blank, over {MAX_WAREHOUSE_CODE_LENGTH} characters or holds other characters than letters, "
    "digits, '_' and '-'"
)
_TEXT_RULES = (
    f"`name` is blank or over {MAX_NAME_LENGTH:,} characters; `address` is over {MAX_ADDRESS_LENGTH:,} characters"
)


@strawberry.input(description="A new warehouse.")
class CreateWarehouseInput:
    code: str = strawberry.field(description=CODE)
    name: str = strawberry.field(description=NAME)
    address: str | None = optional(ADDRESS)
    is_active: bool = optional("False adds it archived: it takes in no stock.", True)


@strawberry.input(description="Fields left out keep their value; null clears `address`.")
class UpdateWarehouseInput:
    id: strawberry.ID = strawberry.field(description=id_input("the warehouse to change"))
    code: str | None = changed(CODE)
    name: str | None = changed(NAME)
    address: str | None = changed(ADDRESS)
    is_active: bool | None = changed(
        "False archives the warehouse (as `archiveWarehouse` does), true brings it back; not null."
    )


@strawberry.type(description="The result of a mutation of a warehouse.")
class WarehousePayload:
    warehouse: Warehouse | None = result_field("The warehouse as saved")
    errors: list[UserError] = errors_field()

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(warehouse=Warehouse.from_model(row))


_WarehouseId = Annotated[strawberry.ID, strawberry.argument(description=id_input("the warehouse"))]


@strawberry.type
class WarehouseMutations:
    @strawberry.mutation(
        description=with_error_codes(
            "Add a warehouse.",
            INVALID=f"{_CODE_RULES}; {_TEXT_RULES}.",
            DUPLICATE="another warehouse has the code.",
        )
    )
    async def create_warehouse(
        self, info: Info[Context, None], input: Annotated[CreateWarehouseInput, INPUT]
    ) -> WarehousePayload:
        return await write(
            info, WarehousePayload, warehouses.create_warehouse, lambda: _arguments(input), records_user="created_by_id"
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Change a warehouse's code, name, address or status.",
            INVALID=f"{_CODE_RULES}; {_TEXT_RULES}; `code`, `name` or `isActive` is null; "
            "or `id` is malformed.",
            NOT_FOUND="`id` names no warehouse.",
            DUPLICATE="another warehouse has the code.",
        )
    )
    async def update_warehouse(
        self, info: Info[Context, None], input: Annotated[UpdateWarehouseInput, INPUT]
    ) -> WarehousePayload:
        return await write(
            info,
            WarehousePayload,
            warehouses.update_warehouse,
            lambda: _arguments(input, "Warehouse"),
            records_user="updated_by_id",
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Make a warehouse inactive; its stock levels and history stay. Archiving it again changes nothing.",
            INVALID="`id` is malformed.",
            NOT_FOUND="`id` names no warehouse.",
        )
    )
    async def archive_warehouse(self, info: Info[Context, None], id: _WarehouseId) -> WarehousePayload:
        return await write(
            info,
            WarehousePayload,
            warehouses.archive_warehouse,
            _id_argument(id, "Warehouse"),
            records_user="updated_by_id",
        )

    @strawberry.mutation(
        description=with_error_codes(
            "Delete a warehouse that has never held stock; archive one that has.",
            INVALID="`id` is malformed.",
            NOT_FOUND="`id` names no warehouse.",
            IN_USE="the warehouse has stock levels or ledger entries: archive it instead (`archiveWarehouse`).",
        )
    )
    async def delete_warehouse(self, info: Info[Context, None], id: _WarehouseId) -> DeletePayload:
        return await write(info, DeletePayload, warehouses.delete_warehouse, _id_argument(id, "Warehouse"))
