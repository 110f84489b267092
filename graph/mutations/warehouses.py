"""Warehouse mutations: create, change, archive and delete warehouses.

Each mutation is one write transaction; a refused one rolls back and returns its `errors`.
"""

from typing import Any, Self

import strawberry
from strawberry.types import Info

from db import warehouses
from graph.context import Context
from graph.errors import UserError
from graph.mutations.base import write
from graph.mutations.catalog import UNSET, DeletePayload, _arguments, _id_argument
from graph.types.stock import Warehouse


@strawberry.input
class CreateWarehouseInput:
    code: str = strawberry.field(
        description="Up to 32 letters, digits, '_' and '-', starting with a letter or digit; stored in uppercase."
    )
    name: str
    address: str | None = None
    is_active: bool = True


@strawberry.input(description="Fields left out keep their value; null clears `address`.")
class UpdateWarehouseInput:
    id: strawberry.ID
    code: str | None = UNSET
    name: str | None = UNSET
    address: str | None = UNSET
    is_active: bool | None = UNSET


@strawberry.type
class WarehousePayload:
    warehouse: Warehouse | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(warehouse=Warehouse.from_model(row))


@strawberry.type
class WarehouseMutations:
    @strawberry.mutation(description="Add a warehouse.")
    async def create_warehouse(self, info: Info[Context, None], input: CreateWarehouseInput) -> WarehousePayload:
        return await write(info, WarehousePayload, warehouses.create_warehouse, lambda: _arguments(input))

    @strawberry.mutation(description="Change a warehouse's code, name, address or status.")
    async def update_warehouse(self, info: Info[Context, None], input: UpdateWarehouseInput) -> WarehousePayload:
        return await write(
            info, WarehousePayload, warehouses.update_warehouse, lambda: _arguments(input, "Warehouse")
        )

    @strawberry.mutation(description="Make a warehouse inactive; its stock levels and history stay.")
    async def archive_warehouse(self, info: Info[Context, None], id: strawberry.ID) -> WarehousePayload:
        return await write(info, WarehousePayload, warehouses.archive_warehouse, _id_argument(id, "Warehouse"))

    @strawberry.mutation(description="Delete a warehouse that has never held stock; archive one that has.")
    async def delete_warehouse(self, info: Info[Context, None], id: strawberry.ID) -> DeletePayload:
        return await write(info, DeletePayload, warehouses.delete_warehouse, _id_argument(id, "Warehouse"))
